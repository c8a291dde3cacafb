/** Types of scripts/render-manifests.mjs, for the TypeScript tests that import it. */
export declare const MANIFESTS: Record<string, { namespace: string; ownsNamespace: boolean }>;
/** Helm's environment: nothing of the user's, nothing written to $HOME. */
export declare function helmEnv(): NodeJS.ProcessEnv;
/** Every plain manifest's path and fresh content. */
export declare function renderManifests(): Promise<Array<{ path: string; content: string }>>;
