/** Reading CloudFormation values in stack tests. */

/** A value or a list of them, as CloudFormation allows for `Action` and `Resource`. */
export const list = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/** A value as text, intrinsics written `${LogicalId}` / `${LogicalId.Attribute}`: for matching ARNs and resources. */
export function render(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, any>;
  if (typeof v?.Ref === 'string') return `\${${v.Ref}}`;
  if (Array.isArray(v?.['Fn::GetAtt'])) return `\${${v['Fn::GetAtt'][0]}.${v['Fn::GetAtt'][1]}}`;
  if (Array.isArray(v?.['Fn::Join'])) return (v['Fn::Join'][1] as unknown[]).map(render).join(v['Fn::Join'][0]);
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}
