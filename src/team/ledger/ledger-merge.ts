/**
 * What a batch does to the ledger, as a pure function of the batch and the rows already stored
 * under its keys: which inputs are stored, which stored rows they replace (ccusage 20's rules,
 * docs/bridge.md "The rules of the numbers"). The store reads the rows, runs this, writes.
 *
 * One request may arrive as several lines and ways in: a streamed message's partial and billed
 * lines (one key), its OTLP `api_request` (another key, the same request id), a /btw side-chain
 * replay (another request id, the same message id), and under earlier rules its place keys. They
 * form one group; of each group one line is kept:
 * 1. the main chain's over a side-chain replay;
 * 2. then the larger token total;
 * 3. then a log line over an OTLP event or the proxy's row (the same figures; the line has the
 *    project);
 * 4. then what is stored over what arrives, and among arrivals the first.
 */

/** A line as the ledger compares it. */
export interface MergeLine {
  readonly sidechain: boolean;
  readonly source: string;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cacheCreationTokens: number;
  readonly cacheReadTokens: number;
  /** Tokens in the total that no column shows (other agents'). */
  readonly extraTokens?: number;
}

export interface MergeInput<T extends MergeLine> {
  readonly line: T;
  /** Its key's hash, and the hashes of the keys its request's lines had under earlier rules. */
  readonly hash: string;
  readonly legacy: readonly string[];
  readonly requestId: string | null;
  readonly messageId: string | null;
}

export interface MergeStored<T extends MergeLine> extends MergeInput<T> {
  readonly id: number;
}

export interface MergePlan<I extends MergeLine, S extends MergeLine> {
  /** Inputs to store (one per group at most), in batch order. */
  readonly insert: readonly MergeInput<I>[];
  /** Stored rows that leave: replaced by a better line of their request (stored or arriving). */
  readonly remove: readonly MergeStored<S>[];
  /** Per inserted hash, how many stored rows it replaced. */
  readonly replaced: ReadonlyMap<string, number>;
}

const total = (line: MergeLine) =>
  line.inputTokens +
  line.outputTokens +
  line.cacheCreationTokens +
  line.cacheReadTokens +
  (line.extraTokens ?? 0);

/** Rules 1–3: > 0 when a is kept over b, < 0 when b is, 0 when they tie (rule 4 decides). */
export function compareLines(a: MergeLine, b: MergeLine): number {
  if (a.sidechain !== b.sidechain) return a.sidechain ? -1 : 1;
  const byTotal = total(a) - total(b);
  if (byTotal !== 0) return byTotal;
  // The proxy's row knows no project either (docs/proxy.md).
  const logged = (line: MergeLine) => (line.source === 'otlp' || line.source === 'proxy' ? 0 : 1);
  return logged(a) - logged(b);
}

class Groups {
  private readonly parent = new Map<string, string>();

  find(node: string): string {
    let root = node;
    while (this.parent.has(root) && this.parent.get(root) !== root) root = this.parent.get(root)!;
    this.parent.set(node, root);
    return root;
  }

  join(a: string, b: string): void {
    const [ra, rb] = [this.find(a), this.find(b)];
    if (ra !== rb) this.parent.set(rb, ra);
  }
}

export function planMerge<I extends MergeLine, S extends MergeLine>(
  inputs: readonly MergeInput<I>[],
  stored: readonly MergeStored<S>[],
): MergePlan<I, S> {
  const groups = new Groups();
  const nodeOfInput = (i: number) => `i${i}`;
  const nodeOfRow = (row: MergeStored<S>) => `r${row.id}`;
  // Lines meet through what they share: a key (or an earlier rule's key), a request id.
  const meet = (node: string, token: string) => groups.join(`t${token}`, node);
  inputs.forEach((input, i) => {
    const node = nodeOfInput(i);
    groups.find(node);
    meet(node, `k${input.hash}`);
    for (const legacy of input.legacy) meet(node, `k${legacy}`);
    if (input.requestId !== null) meet(node, `q${input.requestId}`);
  });
  for (const row of stored) {
    const node = nodeOfRow(row);
    groups.find(node);
    meet(node, `k${row.hash}`);
    if (row.requestId !== null) meet(node, `q${row.requestId}`);
  }
  // A side-chain replay joins its message's main-chain line: the stored one with the lowest id,
  // else the first in the batch; side-chain lines of a message with neither stay together.
  const byMessage = new Map<
    string,
    { sides: string[]; mainRow?: MergeStored<S>; mainInput?: number }
  >();
  const of = (messageId: string) => {
    let found = byMessage.get(messageId);
    if (!found) byMessage.set(messageId, (found = { sides: [] }));
    return found;
  };
  for (const row of stored) {
    if (row.messageId === null) continue;
    const message = of(row.messageId);
    if (row.line.sidechain) message.sides.push(nodeOfRow(row));
    else if (!message.mainRow || row.id < message.mainRow.id) message.mainRow = row;
  }
  inputs.forEach((input, i) => {
    if (input.messageId === null) return;
    const message = of(input.messageId);
    if (input.line.sidechain) message.sides.push(nodeOfInput(i));
    else message.mainInput ??= i;
  });
  for (const message of byMessage.values()) {
    if (message.sides.length === 0) continue;
    const main = message.mainRow
      ? nodeOfRow(message.mainRow)
      : message.mainInput !== undefined
        ? nodeOfInput(message.mainInput)
        : message.sides[0];
    for (const side of message.sides) groups.join(main, side);
  }

  // Per group: the kept line — stored rows first (rule 4), then inputs in batch order.
  type Kept = { input?: number; row?: MergeStored<S>; line: MergeLine };
  const best = new Map<string, Kept>();
  const offer = (node: string, candidate: Kept) => {
    const root = groups.find(node);
    const held = best.get(root);
    if (!held || compareLines(candidate.line, held.line) > 0) best.set(root, candidate);
  };
  for (const row of [...stored].sort((a, b) => a.id - b.id))
    offer(nodeOfRow(row), { row, line: row.line });
  inputs.forEach((input, i) => offer(nodeOfInput(i), { input: i, line: input.line }));

  const insert: MergeInput<I>[] = [];
  // Per group, the hash its removals are counted for: the inserted input's, else (a stored row
  // kept, earlier rules' rows of the same request leaving) the group's first input's.
  const credit = new Map<string, string>();
  inputs.forEach((input, i) => {
    const root = groups.find(nodeOfInput(i));
    const kept = best.get(root)!;
    if (kept.input === i) {
      insert.push(input);
      credit.set(root, input.hash);
    } else if (kept.input === undefined && !credit.has(root)) credit.set(root, input.hash);
  });
  const remove: MergeStored<S>[] = [];
  const replaced = new Map<string, number>();
  for (const row of stored) {
    const root = groups.find(nodeOfRow(row));
    const kept = best.get(root)!;
    if (kept.row === row) continue;
    remove.push(row);
    const to = credit.get(root);
    if (to !== undefined) replaced.set(to, (replaced.get(to) ?? 0) + 1);
  }
  return { insert, remove, replaced };
}
