/** Types for workflow-yaml.mjs, which stays plain JavaScript so that node runs it with no build. */
export declare class YamlError extends Error {
  line: number
  constructor(line: number, message: string)
}

export interface ScalarNode {
  kind: 'scalar'
  line: number
  value: string | null
  comment?: string
  block?: boolean
}
export interface SeqNode {
  kind: 'seq'
  line: number
  items: YamlNode[]
  comment?: string
}
export interface MapNode {
  kind: 'map'
  line: number
  pairs: { key: string; line: number; value: YamlNode }[]
  comment?: string
}
export type YamlNode = ScalarNode | SeqNode | MapNode

export declare function parseYaml(text: string): YamlNode | null
export declare function get(node: YamlNode | null | undefined, key: string): YamlNode | undefined
export declare function pair(
  node: YamlNode | null | undefined,
  key: string
): { key: string; line: number; value: YamlNode } | undefined
export declare function text(node: YamlNode | null | undefined): string | undefined
export declare function toValue(node: YamlNode | null | undefined): unknown
