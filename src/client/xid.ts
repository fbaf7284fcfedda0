/** Request xids: positive, increasing per client, wrapping after 2^31−1 back to 1 (negative xids are reserved). */

export const MAX_XID = 0x7fffffff;

export function nextXid(xid: number): number {
  return xid >= MAX_XID ? 1 : xid + 1;
}
