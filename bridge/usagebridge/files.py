"""Finding the files an agent wrote: one walk for every reader (Claude Code's and the others')."""

import os
from typing import Dict, Iterable, List, Sequence, Tuple, Union


def walk_files(roots: Iterable[str], suffixes: Union[str, Tuple[str, ...]]) -> Dict[str, os.stat_result]:
    """Every regular file below `roots` whose name ends with one of `suffixes`, with its stat,
    sorted by path (a root that is missing, or a folder that cannot be read, is passed over;
    symbolic links to folders are not followed)."""
    found: Dict[str, os.stat_result] = {}
    stack = [root for root in roots if os.path.isdir(root)]
    while stack:
        directory = stack.pop()
        try:
            with os.scandir(directory) as items:
                for item in items:
                    try:
                        if item.is_dir(follow_symlinks=False):
                            stack.append(item.path)
                        elif item.name.endswith(suffixes) and item.is_file():
                            found[item.path] = item.stat()
                    except OSError:
                        continue
        except OSError:
            continue
    return dict(sorted(found.items()))


def folders_from_env(variable: str, default: Sequence[str]) -> List[str]:
    """An agent's data folders: `variable` as a comma list (set but empty: none), else `default`
    below the home folder."""
    configured = os.environ.get(variable)
    if configured is not None:
        return [os.path.expanduser(p.strip()) for p in configured.split(",") if p.strip()]
    return [os.path.join(os.path.expanduser("~"), *default)]
