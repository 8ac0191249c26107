export interface Stage {
  from: string;
  name?: string;
  lines: string[];
}

/** The stages of a Dockerfile: each FROM (global ARG defaults substituted) with its lines. */
export function dockerStages(text: string): Stage[] {
  const logical = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const stages: Stage[] = [];
  const args = new Map<string, string>(); // global ARGs (before the first FROM) with defaults
  for (const line of logical) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    const arg = /^ARG\s+(\w+)=(\S+)$/i.exec(line);
    if (from) {
      const image = from[1].replace(/\$\{(\w+)\}/g, (m, name: string) => args.get(name) ?? m);
      stages.push({ from: image, name: from[2], lines: [] });
    } else if (arg && stages.length === 0) args.set(arg[1], arg[2]);
    else stages.at(-1)?.lines.push(line);
  }
  return stages;
}

export interface CopyLine {
  /** The stage copied from (`--from=`), or undefined for the build context. */
  readonly from: string | undefined;
  readonly sources: string[];
  readonly target: string;
}

/** The COPY lines of a stage, flags other than `--from` dropped. */
export function copyLines(stage: Stage): CopyLine[] {
  return stage.lines
    .filter((l) => /^COPY\s/i.test(l))
    .map((l) => {
      const words = l.split(/\s+/).slice(1);
      const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
      const paths = words.filter((w) => !w.startsWith('--'));
      return { from, sources: paths.slice(0, -1), target: paths.at(-1) as string };
    });
}
