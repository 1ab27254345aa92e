// Addresses a provider told us are unusable (a permanent bounce, an SMS the carrier could
// not deliver). A send to one fails at once as InvalidRecipient, so the step's fallback
// channel takes over instead of bouncing again.
import type { PrismaClient } from './client';

export type AddressChannel = 'email' | 'sms';

export const normaliseAddress = (address: string): string => address.trim().toLowerCase();

export async function invalidAddressReason(prisma: PrismaClient, channel: AddressChannel, address: string): Promise<string | undefined> {
  const row = await prisma.invalidAddress.findUnique({ where: { channel_address: { channel, address: normaliseAddress(address) } } });
  return row?.reason;
}

/** Idempotent: the first reason recorded stays. */
export async function markAddressInvalid(
  prisma: PrismaClient,
  entry: { channel: AddressChannel; address: string; reason: string; evidence?: string },
): Promise<void> {
  const address = normaliseAddress(entry.address);
  await prisma.invalidAddress.upsert({
    where: { channel_address: { channel: entry.channel, address } },
    create: { channel: entry.channel, address, reason: entry.reason, evidence: entry.evidence ?? null },
    update: {},
  });
}
