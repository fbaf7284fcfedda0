/**
 * The ZooKeeper client wire records (zookeeper.jute, modules data and proto),
 * each described once as a jute schema.
 */
import { record, vector, type Decoded, type Encodable } from '../jute/mod.js';

// ---- org.apache.zookeeper.data ----

export const Id = record('Id', { scheme: 'ustring', id: 'ustring' });
export type Id = Decoded<typeof Id>;

export const ACL = record('ACL', { perms: 'int', id: Id });
export type ACL = Decoded<typeof ACL>;

export const Stat = record('Stat', {
  czxid: 'long',
  mzxid: 'long',
  ctime: 'long',
  mtime: 'long',
  version: 'int',
  cversion: 'int',
  aversion: 'int',
  ephemeralOwner: 'bigLong',
  dataLength: 'int',
  numChildren: 'int',
  pzxid: 'long',
});
export type Stat = Decoded<typeof Stat>;

export const ClientInfo = record('ClientInfo', { authScheme: 'ustring', user: 'ustring' });
export type ClientInfo = Decoded<typeof ClientInfo>;

// ---- org.apache.zookeeper.proto: session and framing ----

export const ConnectRequest = record('ConnectRequest', {
  protocolVersion: 'int',
  lastZxidSeen: 'long',
  timeOut: 'int',
  sessionId: 'bigLong',
  passwd: 'buffer',
});
export type ConnectRequest = Decoded<typeof ConnectRequest>;

export const ConnectResponse = record('ConnectResponse', {
  protocolVersion: 'int',
  timeOut: 'int',
  sessionId: 'bigLong',
  passwd: 'buffer',
});
export type ConnectResponse = Decoded<typeof ConnectResponse>;

export const RequestHeader = record('RequestHeader', { xid: 'int', type: 'int' });
export type RequestHeader = Decoded<typeof RequestHeader>;

export const ReplyHeader = record('ReplyHeader', { xid: 'int', zxid: 'long', err: 'int' });
export type ReplyHeader = Decoded<typeof ReplyHeader>;

export const MultiHeader = record('MultiHeader', { type: 'int', done: 'bool', err: 'int' });
export type MultiHeader = Decoded<typeof MultiHeader>;

export const AuthPacket = record('AuthPacket', { type: 'int', scheme: 'ustring', auth: 'buffer' });
export type AuthPacket = Decoded<typeof AuthPacket>;

export const WatcherEvent = record('WatcherEvent', { type: 'int', state: 'int', path: 'ustring' });
export type WatcherEvent = Decoded<typeof WatcherEvent>;

export const SetWatches = record('SetWatches', {
  relativeZxid: 'long',
  dataWatches: vector('ustring'),
  existWatches: vector('ustring'),
  childWatches: vector('ustring'),
});
export type SetWatches = Decoded<typeof SetWatches>;

export const SetWatches2 = record('SetWatches2', {
  relativeZxid: 'long',
  dataWatches: vector('ustring'),
  existWatches: vector('ustring'),
  childWatches: vector('ustring'),
  persistentWatches: vector('ustring'),
  persistentRecursiveWatches: vector('ustring'),
});
export type SetWatches2 = Decoded<typeof SetWatches2>;

// ---- requests ----

export const CreateRequest = record('CreateRequest', {
  path: 'ustring',
  data: 'buffer',
  acl: vector(ACL),
  flags: 'int',
});
export type CreateRequest = Decoded<typeof CreateRequest>;

export const CreateTTLRequest = record('CreateTTLRequest', {
  path: 'ustring',
  data: 'buffer',
  acl: vector(ACL),
  flags: 'int',
  ttl: 'long',
});
export type CreateTTLRequest = Decoded<typeof CreateTTLRequest>;

export const DeleteRequest = record('DeleteRequest', { path: 'ustring', version: 'int' });
export type DeleteRequest = Decoded<typeof DeleteRequest>;

/** The shape of exists, getData, getChildren and getChildren2 requests. */
export const PathWatchRequest = record('PathWatchRequest', { path: 'ustring', watch: 'bool' });
export type PathWatchRequest = Decoded<typeof PathWatchRequest>;

/** The shape of getACL, sync, getAllChildrenNumber and deleteContainer requests. */
export const PathRequest = record('PathRequest', { path: 'ustring' });
export type PathRequest = Decoded<typeof PathRequest>;

export const SetDataRequest = record('SetDataRequest', { path: 'ustring', data: 'buffer', version: 'int' });
export type SetDataRequest = Decoded<typeof SetDataRequest>;

export const SetACLRequest = record('SetACLRequest', { path: 'ustring', acl: vector(ACL), version: 'int' });
export type SetACLRequest = Decoded<typeof SetACLRequest>;

export const CheckVersionRequest = record('CheckVersionRequest', { path: 'ustring', version: 'int' });
export type CheckVersionRequest = Decoded<typeof CheckVersionRequest>;

/** The shape of checkWatches and removeWatches requests. */
export const WatchesRequest = record('WatchesRequest', { path: 'ustring', type: 'int' });
export type WatchesRequest = Decoded<typeof WatchesRequest>;

export const AddWatchRequest = record('AddWatchRequest', { path: 'ustring', mode: 'int' });
export type AddWatchRequest = Decoded<typeof AddWatchRequest>;

export const GetEphemeralsRequest = record('GetEphemeralsRequest', { prefixPath: 'ustring' });
export type GetEphemeralsRequest = Decoded<typeof GetEphemeralsRequest>;

export const ReconfigRequest = record('ReconfigRequest', {
  joiningServers: 'ustring',
  leavingServers: 'ustring',
  newMembers: 'ustring',
  curConfigId: 'long',
});
export type ReconfigRequest = Decoded<typeof ReconfigRequest>;

/** GetSASLRequest, SetSASLRequest and SetSASLResponse all carry one token. */
export const SaslToken = record('SaslToken', { token: 'buffer' });
export type SaslToken = Decoded<typeof SaslToken>;

// ---- responses ----

export const CreateResponse = record('CreateResponse', { path: 'ustring' });
export type CreateResponse = Decoded<typeof CreateResponse>;

export const Create2Response = record('Create2Response', { path: 'ustring', stat: Stat });
export type Create2Response = Decoded<typeof Create2Response>;

/** The shape of exists, setData and setACL responses. */
export const StatResponse = record('StatResponse', { stat: Stat });
export type StatResponse = Decoded<typeof StatResponse>;

export const GetDataResponse = record('GetDataResponse', { data: 'buffer', stat: Stat });
export type GetDataResponse = Decoded<typeof GetDataResponse>;

export const GetChildrenResponse = record('GetChildrenResponse', { children: vector('ustring') });
export type GetChildrenResponse = Decoded<typeof GetChildrenResponse>;

export const GetChildren2Response = record('GetChildren2Response', { children: vector('ustring'), stat: Stat });
export type GetChildren2Response = Decoded<typeof GetChildren2Response>;

export const GetACLResponse = record('GetACLResponse', { acl: vector(ACL), stat: Stat });
export type GetACLResponse = Decoded<typeof GetACLResponse>;

export const SyncResponse = record('SyncResponse', { path: 'ustring' });
export type SyncResponse = Decoded<typeof SyncResponse>;

export const GetAllChildrenNumberResponse = record('GetAllChildrenNumberResponse', { totalNumber: 'int' });
export type GetAllChildrenNumberResponse = Decoded<typeof GetAllChildrenNumberResponse>;

export const GetEphemeralsResponse = record('GetEphemeralsResponse', { ephemerals: vector('ustring') });
export type GetEphemeralsResponse = Decoded<typeof GetEphemeralsResponse>;

export const WhoAmIResponse = record('WhoAmIResponse', { clientInfo: vector(ClientInfo) });
export type WhoAmIResponse = Decoded<typeof WhoAmIResponse>;

export const ErrorResponse = record('ErrorResponse', { err: 'int' });
export type ErrorResponse = Decoded<typeof ErrorResponse>;

export type StatInput = Encodable<typeof Stat>;
