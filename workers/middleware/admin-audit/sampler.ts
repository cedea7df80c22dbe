import { TtlMap } from '../../stores/ttl-map.ts';

const MINUTE_MS = 60_000;

/** Refused admin requests written to the audit log per minute by one isolate, all addresses together. */
export const REFUSALS_AUDITED_PER_MINUTE = 60;
/** Refused admin requests written per minute for one client address, by one isolate. */
export const REFUSALS_AUDITED_PER_ADDRESS_PER_MINUTE = 5;

export interface RefusalSamplerOptions {
  now: () => number;
  perMinute?: number;
  perAddressPerMinute?: number;
  /** Addresses remembered at once (bounded: a flood of addresses cannot grow it; the oldest is forgotten). */
  maxAddresses?: number;
}

interface AddressState {
  window: number;
  written: number;
  /** Refusals from this address left out since its last written row. */
  leftOut: number;
}

/**
 * Decides which refused admin requests get an audit row, so that refusals cannot flood the log: at most
 * `perAddressPerMinute` rows per client address and `perMinute` in all, per calendar minute (UTC) and isolate.
 * A refusal left out is counted, and the address's next written row says how many were (`leftOut`). Pure
 * memory, no I/O: it runs on every refusal.
 */
export class RefusalSampler {
  readonly #now: () => number;
  readonly #perMinute: number;
  readonly #perAddress: number;
  readonly #addresses: TtlMap<AddressState>;
  #window = -1;
  #written = 0;

  constructor(options: RefusalSamplerOptions) {
    this.#now = options.now;
    this.#perMinute = options.perMinute ?? REFUSALS_AUDITED_PER_MINUTE;
    this.#perAddress = options.perAddressPerMinute ?? REFUSALS_AUDITED_PER_ADDRESS_PER_MINUTE;
    this.#addresses = new TtlMap({ maxEntries: options.maxAddresses ?? 10_000, now: options.now });
  }

  /** `null`: leave this refusal out; else write it, noting how many from the address were left out before it. */
  admit(address: string): { leftOut: number } | null {
    const window = Math.floor(this.#now() / MINUTE_MS);
    if (window !== this.#window) {
      this.#window = window;
      this.#written = 0;
    }
    const state = this.#addresses.get(address) ?? { window, written: 0, leftOut: 0 };
    if (state.window !== window) {
      state.window = window;
      state.written = 0;
    }
    let admitted: { leftOut: number } | null = null;
    if (state.written < this.#perAddress && this.#written < this.#perMinute) {
      admitted = { leftOut: state.leftOut };
      state.written += 1;
      state.leftOut = 0;
      this.#written += 1;
    } else {
      state.leftOut += 1;
    }
    // Kept for ten minutes, so a left-out count reaches the address's next row if it comes back soon.
    this.#addresses.set(address, state, 10 * MINUTE_MS);
    return admitted;
  }
}
