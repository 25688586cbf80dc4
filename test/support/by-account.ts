/** Each account's versions in the order a destination accepted them. */
export function byAccount(accepted: readonly { accountId: string; version: number }[]): Map<string, number[]> {
  const result = new Map<string, number[]>();
  for (const { accountId, version } of accepted) result.set(accountId, [...(result.get(accountId) ?? []), version]);
  return result;
}
