export { assertBinding, SECRET_KINDS, type SecretBinding, type SecretKind } from './binding.ts';
export { decodeEnvelope, ENVELOPE_MAGIC, type Envelope, encodeEnvelope, FORMAT_VERSION } from './envelope.ts';
export { credentialUnreadable } from './errors.ts';
export { generateMasterKey, randomToken } from './generate.ts';
export {
  type KeyCheckRecord,
  keyCheckValue,
  type VerifyKeyCheckOptions,
  verifyKeyCheck,
} from './key-check.ts';
export {
  type KeyRingLogger,
  type LoadedMasterKeyRing,
  type LoadMasterKeyRingOptions,
  loadMasterKeyRing,
} from './load-master-keys.ts';
export {
  deriveKeyId,
  MASTER_KEY_BYTES,
  MASTER_KEY_ID_PATTERN,
  type MasterKey,
  MasterKeyRing,
  parseMasterKey,
} from './master-keys.ts';
export { Vault } from './vault.ts';
