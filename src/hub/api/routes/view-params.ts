/** Path parameters the application view routes share. */
export type AppParams = { app: string };

/** One object in one location: `{account}/{region}/{name}`, where the region is the namespace. */
export type ObjectParams = { account: string; region: string; name: string };
