/** Messages between a `LocalFunction` and its worker. */
export interface InvokeRequest {
  readonly id: number;
  readonly event: unknown;
  readonly timeoutMs: number;
}

export type InvokeResponse =
  | { readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly id: number; readonly ok: false; readonly error: { name: string; message: string; stack?: string } };
