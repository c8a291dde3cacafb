// The agent resolves secret references (secret-resolver.ts); the hub checks them in dynamic account
// definitions: the parser is shared, in src/common.
export * from '../../common/secret-reference.ts';
