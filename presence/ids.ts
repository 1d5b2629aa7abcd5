/** User and device ids: 1–128 characters of letters, digits and `_ . : @ -`. */
const ID = /^[\w.:@-]{1,128}$/;

export function isUserId(value: unknown): value is string {
  return typeof value === 'string' && ID.test(value);
}

export const isDeviceId = isUserId;
