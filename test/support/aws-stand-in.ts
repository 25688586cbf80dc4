import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AwsStandIn {
  readonly endpoint: string;
  /** `METHOD /path[ Action=...]` of every request, in order. */
  readonly calls: string[];
  close(): Promise<void>;
}

/**
 * CloudFormation's `DescribeStacks` for one stack with `outputs`, as the SDK reads it (query protocol, XML), on a local
 * port; `other` answers any other request (Lambda's REST calls, say) and returns false for one it does not know (400).
 */
export async function startAwsStandIn(
  stackName: string,
  outputs: ReadonlyMap<string, string>,
  other: (request: IncomingMessage, response: ServerResponse) => boolean = () => false,
): Promise<AwsStandIn> {
  const calls: string[] = [];
  const escape = (value: string) => value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      calls.push(`${request.method} ${request.url}${body.startsWith('Action=') ? ` ${body.split('&')[0]}` : ''}`);
      if (body.startsWith('Action=DescribeStacks')) {
        const members = [...outputs].map(([key, value]) => `<member><OutputKey>${key}</OutputKey><OutputValue>${escape(value)}</OutputValue></member>`).join('');
        response.writeHead(200, { 'content-type': 'text/xml' });
        response.end(
          `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member><StackName>${stackName}</StackName><StackStatus>UPDATE_COMPLETE</StackStatus><Outputs>${members}</Outputs></member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></DescribeStacksResponse>`,
        );
        return;
      }
      if (other(request, response)) return;
      response.writeHead(400);
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
