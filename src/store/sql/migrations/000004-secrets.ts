/**
 * 000004: secrets, each value sealed by the service (AES-256-GCM) before it is written; the
 * table never holds a value in clear. Additive: a release that does not know it ignores it.
 */
export const name = 'secrets';

export const sql = `
CREATE TABLE IF NOT EXISTS secret (
  name        text COLLATE "C" PRIMARY KEY,
  key_id      text NOT NULL,
  ciphertext  text NOT NULL,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL,
  created_by  text,
  updated_by  text
);
`;
