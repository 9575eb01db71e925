// Hooks over the client: one-shot loads and live subscriptions.
import { useEffect, useState } from 'preact/hooks';
import type { AnyVariables, TypedDocumentNode } from '@urql/core';
import { client, run } from './api';

export function useSubscription<R, V extends AnyVariables>(document: TypedDocumentNode<R, V>, variables: V, onData: (data: R) => void, key: string): void {
  useEffect(() => {
    const { unsubscribe } = client.subscription(document, variables).subscribe((result) => {
      if (result.data) onData(result.data);
    });
    return unsubscribe;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
}

export interface Loaded<R> {
  data: R | null;
  error: string | null;
  reload: () => void;
}

export function useQuery<R, V extends AnyVariables>(document: TypedDocumentNode<R, V>, variables: V, key: string): Loaded<R> {
  const [data, setData] = useState<R | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    let current = true;
    run(document, variables)
      .then((answer) => current && (setData(answer), setError(null)))
      .catch((e: Error) => current && setError(e.message));
    return () => {
      current = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, generation]);
  return { data, error, reload: () => setGeneration((g) => g + 1) };
}

/** Re-renders every `ms` (for staleness that arrives by the clock, not by a message). */
export function useClock(ms: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}
