"""Disjoint sets (union-find) for grouping: glyphs into text lines, clips into near-duplicate groups."""

from __future__ import annotations


class DisjointSets:
    """Union-find over 0..n-1 with path halving; a group's representative is its smallest member, so
    group labels do not depend on the order of the unions."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def labels(self) -> list[int]:
        """Each member's representative."""
        return [self.find(i) for i in range(len(self.parent))]
