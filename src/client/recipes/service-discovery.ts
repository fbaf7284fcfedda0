/**
 * Service discovery (Curator's ServiceDiscovery): each instance of a
 * service is an ephemeral node `<base>/<service name>/<instance id>` whose
 * data is the instance as JSON, in the field names Curator's
 * JsonInstanceSerializer uses. An instance disappears when its session ends.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { CreateMode, ErrorCode, type ZkClient } from '../mod.js';
import { childPath, deleteNode, ensurePath, isKeeperError, retryOnConnectionLoss } from './internal.js';
import { TreeCache } from './tree-cache.js';

export interface ServiceInstance<Payload = unknown> {
  name: string;
  id: string;
  address?: string;
  port?: number;
  sslPort?: number;
  payload?: Payload;
  /** Milliseconds since the epoch, set by register(). */
  registrationTimeUTC: number;
  /** Always DYNAMIC here: the node is ephemeral. */
  serviceType: 'DYNAMIC';
  /** Curator's URI template, e.g. `{scheme}://{address}:{port}`. */
  uriSpec?: string;
}

/** What register() needs: the name, and optionally a fixed id (default: a random UUID). */
export type InstanceSpec<Payload> = Omit<ServiceInstance<Payload>, 'id' | 'registrationTimeUTC' | 'serviceType'> & { id?: string };

/**
 * ```ts
 * const discovery = new ServiceDiscovery(client, '/app/services');
 * const me = await discovery.register({ name: 'api', address: '10.0.0.5', port: 8080 });
 * const apis = await discovery.instances('api');
 * const cache = await discovery.cache('api'); // kept current; 'change' on every change
 * cache.on('change', (instances) => rebalance(instances));
 * ```
 *
 * Instances live as long as the session: re-register them with a new
 * client after it expired.
 */
export class ServiceDiscovery<Payload = unknown> {
  constructor(
    readonly client: ZkClient,
    readonly basePath: string,
  ) {}

  /** Registers an instance (an ephemeral node); resolves with it as stored. */
  async register(spec: InstanceSpec<Payload>): Promise<ServiceInstance<Payload>> {
    const instance: ServiceInstance<Payload> = {
      ...spec,
      id: spec.id ?? randomUUID(),
      registrationTimeUTC: Date.now(),
      serviceType: 'DYNAMIC',
    };
    const path = this.instancePath(instance.name, instance.id);
    const data = JSON.stringify(instance);
    for (;;) {
      try {
        await this.client.create(path, data, { mode: CreateMode.EPHEMERAL });
        return instance;
      } catch (error) {
        if (isKeeperError(error, ErrorCode.NoNode)) {
          await ensurePath(this.client, childPath(this.basePath, instance.name));
          continue;
        }
        if (isKeeperError(error, ErrorCode.NodeExists) || isKeeperError(error, ErrorCode.ConnectionLoss)) {
          // Ours if this session owns it (a create whose answer was lost); another session's means the id is taken.
          const stat = await retryOnConnectionLoss(() => this.client.exists(path));
          if (stat !== null && stat.ephemeralOwner === this.client.sessionId) return instance;
          if (stat !== null) throw error;
          continue;
        }
        throw error;
      }
    }
  }

  /** Replaces a registered instance's data (keeping its registration). */
  async update(instance: ServiceInstance<Payload>): Promise<void> {
    await retryOnConnectionLoss(() => this.client.setData(this.instancePath(instance.name, instance.id), JSON.stringify(instance)));
  }

  /** Removes an instance (no error if it is gone). */
  async unregister(instance: Pick<ServiceInstance, 'name' | 'id'>): Promise<void> {
    await deleteNode(this.client, this.instancePath(instance.name, instance.id));
  }

  /** The names of the services with a node under the base path. */
  async names(): Promise<string[]> {
    return (await this.children(this.basePath)).sort();
  }

  /** The instances of a service. */
  async instances(name: string): Promise<ServiceInstance<Payload>[]> {
    const ids = await this.children(childPath(this.basePath, name));
    const found = await Promise.all(ids.map((id) => this.instance(name, id)));
    return found.filter((instance): instance is ServiceInstance<Payload> => instance !== null);
  }

  /** One instance, or null if it is not registered. */
  async instance(name: string, id: string): Promise<ServiceInstance<Payload> | null> {
    try {
      const { data } = await retryOnConnectionLoss(() => this.client.getData(this.instancePath(name, id)));
      return parseInstance<Payload>(data);
    } catch (error) {
      if (isKeeperError(error, ErrorCode.NoNode)) return null;
      throw error;
    }
  }

  /** A started cache of a service's instances, kept current by a TreeCache. */
  async cache(name: string): Promise<ServiceCache<Payload>> {
    const cache = new ServiceCache<Payload>(this.client, childPath(this.basePath, name));
    await cache.start();
    return cache;
  }

  private instancePath(name: string, id: string): string {
    return childPath(childPath(this.basePath, name), id);
  }

  private async children(path: string): Promise<string[]> {
    try {
      return await retryOnConnectionLoss(() => this.client.getChildren(path));
    } catch (error) {
      if (isKeeperError(error, ErrorCode.NoNode)) return [];
      throw error;
    }
  }
}

export interface ServiceCacheEvents<Payload> {
  /** The set of instances or one's data changed; the argument is the new list. */
  change: [instances: ServiceInstance<Payload>[]];
  closed: [];
}

/** The instances of one service, mirrored locally (one level of a TreeCache). */
export class ServiceCache<Payload = unknown> extends EventEmitter<ServiceCacheEvents<Payload>> {
  private readonly tree: TreeCache;
  /** No 'change' events for the first load: start() resolving says the list is ready. */
  private started = false;

  constructor(
    client: ZkClient,
    readonly servicePath: string,
  ) {
    super();
    this.tree = new TreeCache(client, servicePath, { maxDepth: 1 });
    const changed = (): void => {
      if (this.started) this.emit('change', this.instances);
    };
    this.tree.on('add', changed);
    this.tree.on('update', changed);
    this.tree.on('remove', changed);
    this.tree.on('closed', () => this.emit('closed'));
  }

  async start(): Promise<void> {
    await this.tree.start();
    this.started = true;
  }

  /** The instances as of the last event. */
  get instances(): ServiceInstance<Payload>[] {
    const instances: ServiceInstance<Payload>[] = [];
    for (const node of this.tree.entries()) {
      if (node.path === this.servicePath) continue;
      const instance = parseInstance<Payload>(node.data);
      if (instance !== null) instances.push(instance);
    }
    return instances.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  close(): Promise<void> {
    return this.tree.close();
  }
}

/** An instance's node data, or null for a node that does not hold one (it is then ignored). */
function parseInstance<Payload>(data: Buffer | null): ServiceInstance<Payload> | null {
  if (data === null) return null;
  try {
    const value = JSON.parse(data.toString('utf8')) as unknown;
    if (typeof value !== 'object' || value === null) return null;
    const instance = value as Partial<ServiceInstance<Payload>>;
    return typeof instance.name === 'string' && typeof instance.id === 'string' ? (instance as ServiceInstance<Payload>) : null;
  } catch {
    return null;
  }
}
