export declare const watPath: string;
export declare const generatedPath: string;
export declare function compileKernel(): Promise<Uint8Array>;
export declare function generatedSource(binary: Uint8Array): string;
