import type { Template } from 'aws-cdk-lib/assertions';

type Resources = Record<string, { Type: string; Properties: Record<string, any> }>;

/**
 * The event source mappings that invoke a function. Each invokes a published version of it (a generation): its
 * `FunctionName` is `<function>:<version>`, joined from a `Ref` to the function and the version's `Version` attribute.
 */
export function mappingIdsOf(template: Template, functionId: string): string[] {
  const resources = template.toJSON().Resources as Resources;
  return Object.entries(resources)
    .filter(([, r]) => r.Type === 'AWS::Lambda::EventSourceMapping' && functionOf(r.Properties.FunctionName) === functionId)
    .map(([id]) => id);
}

/** The logical id of the `AWS::Lambda::Version` a mapping invokes. */
export function versionOf(template: Template, mappingId: string): string {
  const parts = qualified(template.toJSON().Resources[mappingId].Properties.FunctionName);
  const version = parts?.find((part) => part?.['Fn::GetAtt']?.[1] === 'Version')?.['Fn::GetAtt'][0];
  if (typeof version !== 'string') throw new Error(`mapping ${mappingId} invokes no published version`);
  return version;
}

function qualified(name: unknown): any[] | undefined {
  const join = (name as { 'Fn::Join'?: [string, any[]] })?.['Fn::Join'];
  return join && join[0] === '' ? join[1] : undefined;
}

function functionOf(name: unknown): string | undefined {
  return qualified(name)?.find((part) => typeof part?.Ref === 'string')?.Ref;
}
