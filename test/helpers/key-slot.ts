/**
 * The Redis Cluster hash slot of a key (CRC16/XMODEM of its hash tag, or of the whole key, mod
 * 16384), as the Redis Cluster specification defines it: to check which keys share a slot without a
 * cluster.
 */
export function keySlot(key: string): number {
  const bytes = Buffer.from(key);
  const open = bytes.indexOf(0x7b); // {
  let tagged = bytes;
  if (open >= 0) {
    const close = bytes.indexOf(0x7d, open + 1); // }
    if (close > open + 1) tagged = bytes.subarray(open + 1, close);
  }
  let crc = 0;
  for (const byte of tagged) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}
