/** Types for outputs.mjs, which stays plain JavaScript so that node runs it with no build. */
export declare function setOutputs(values: Record<string, string | number | boolean>, file?: string): void
export declare function escapeData(value: string): string
export declare function error(message: string): void
export declare function warning(message: string): void
export declare function notice(message: string): void
export declare function log(line: string): void
export declare function setLogSink(fn: (line: string) => void): () => void
export declare function parseArgs(argv: string[]): { _: string[]; [name: string]: string | string[] | undefined }
