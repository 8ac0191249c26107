/**
 * A unit spec's stand-in for a collaborator: only the members the spec needs, each checked
 * against the real class — a renamed member, or one whose type changed, no longer compiles (a
 * cast through `unknown` would). Typed as the class, to hand to a constructor.
 */
export function fake<T>(members: Partial<T>): T {
  return members as T;
}
