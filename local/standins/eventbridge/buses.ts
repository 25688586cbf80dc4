/**
 * Event buses of the EventBridge stand-in and the bus operations: CreateEventBus, DescribeEventBus, ListEventBuses,
 * DeleteEventBus. One namespace of buses, whatever region a request is signed for; ARNs carry the request's region.
 */
import { AwsError, optionalString, requiredString, validationError } from './protocol';

export const DEFAULT_BUS = 'default';
const BUS_NAME = /^[/.\-_A-Za-z0-9]{1,256}$/;
const BUS_ARN = /^arn:aws[\w-]*:events:[^:]*:[^:]*:event-bus\/(.+)$/;

interface Bus {
  readonly name: string;
  readonly description?: string;
  /** Epoch seconds, as JSON 1.1 carries timestamps. */
  readonly createdAt: number;
}

/** The name a bus name or bus ARN refers to. A string that is neither is returned as it is. */
export function busNameOf(nameOrArn: string): string {
  return BUS_ARN.exec(nameOrArn)?.[1] ?? nameOrArn;
}

export class BusRegistry {
  private readonly buses = new Map<string, Bus>();

  constructor(private readonly accountId: string) {
    this.add(DEFAULT_BUS);
  }

  has(name: string): boolean {
    return this.buses.has(name);
  }

  arn(region: string, name: string): string {
    return `arn:aws:events:${region}:${this.accountId}:event-bus/${name}`;
  }

  /** Creates a bus; for the stand-in's own options, so an existing one is kept. */
  ensure(name: string): void {
    if (!BUS_NAME.test(name)) throw new RangeError(`not a valid event bus name: ${JSON.stringify(name)}`);
    if (!this.buses.has(name)) this.add(name);
  }

  private add(name: string, description?: string): Bus {
    const bus: Bus = { name, createdAt: Math.floor(Date.now() / 1000), ...(description === undefined ? {} : { description }) };
    this.buses.set(name, bus);
    return bus;
  }

  private describe(region: string, bus: Bus): Record<string, unknown> {
    return {
      Name: bus.name,
      Arn: this.arn(region, bus.name),
      ...(bus.description === undefined ? {} : { Description: bus.description }),
      CreationTime: bus.createdAt,
      LastModifiedTime: bus.createdAt,
    };
  }

  /** Runs a bus operation; undefined when `operation` is not one. */
  handle(operation: string, input: Record<string, unknown>, region: string): Record<string, unknown> | undefined {
    switch (operation) {
      case 'CreateEventBus':
        return this.createEventBus(input, region);
      case 'DescribeEventBus':
        return this.describeEventBus(input, region);
      case 'ListEventBuses':
        return this.listEventBuses(input, region);
      case 'DeleteEventBus':
        return this.deleteEventBus(input);
      default:
        return undefined;
    }
  }

  private createEventBus(input: Record<string, unknown>, region: string): Record<string, unknown> {
    const name = requiredString(input, 'Name');
    if (!BUS_NAME.test(name)) {
      throw validationError(
        `1 validation error detected: Value '${name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [/\\.\\-_A-Za-z0-9]+`,
      );
    }
    if (this.buses.has(name)) throw new AwsError('ResourceAlreadyExistsException', `Event bus ${name} already exists.`);
    const bus = this.add(name, optionalString(input, 'Description'));
    return { EventBusArn: this.arn(region, name), ...(bus.description === undefined ? {} : { Description: bus.description }) };
  }

  private describeEventBus(input: Record<string, unknown>, region: string): Record<string, unknown> {
    const name = busNameOf(optionalString(input, 'Name') ?? DEFAULT_BUS);
    const bus = this.buses.get(name);
    if (bus === undefined) throw new AwsError('ResourceNotFoundException', `Event bus ${name} does not exist.`);
    return this.describe(region, bus);
  }

  private listEventBuses(input: Record<string, unknown>, region: string): Record<string, unknown> {
    const prefix = optionalString(input, 'NamePrefix') ?? '';
    const limit = input.Limit ?? 100;
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > 100) {
      throw validationError(`1 validation error detected: Value '${String(limit)}' at 'limit' failed to satisfy constraint: Member must have value between 1 and 100`);
    }
    const token = optionalString(input, 'NextToken');
    const start = token === undefined ? 0 : Number(Buffer.from(token, 'base64').toString('utf8'));
    if (!Number.isInteger(start) || start < 0) throw validationError('The NextToken is not valid.');
    const matching = [...this.buses.values()]
      .filter((bus) => bus.name.startsWith(prefix))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const page = matching.slice(start, start + limit);
    const next = start + page.length;
    return {
      EventBuses: page.map((bus) => this.describe(region, bus)),
      ...(next < matching.length ? { NextToken: Buffer.from(String(next), 'utf8').toString('base64') } : {}),
    };
  }

  /** Deleting a bus that does not exist succeeds, as on AWS; `default` cannot be deleted. */
  private deleteEventBus(input: Record<string, unknown>): Record<string, unknown> {
    const name = requiredString(input, 'Name');
    if (name === DEFAULT_BUS) throw validationError('Cannot delete event bus default.');
    this.buses.delete(name);
    return {};
  }
}
