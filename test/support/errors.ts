// What a failed call threw, for the adapter tests that check an error and its causes carry no secret.

/**
 * Every message of an error and of its causes, to check none of them carries a secret.
 *
 * @example
 * for (const message of messages(error)) expect(message).not.toContain(token);
 */
export const messages = (error: unknown): string[] => {
  const all: string[] = [];
  for (let current = error; current instanceof Error; current = current.cause) all.push(current.message);
  return all;
};

/**
 * The error a call rejects with; fails the test when it resolves or rejects with something not an Error.
 *
 * @example
 * const error = await failureOf(pager.send(routingKeySecret, trigger));
 */
export const failureOf = async (promise: Promise<unknown>): Promise<Error> => {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof Error)) throw new Error("expected the call to fail");
  return error;
};
