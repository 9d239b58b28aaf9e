//! Link order of the archives: dependents first, cycles kept together as a group.
//!
//! An archive that imports a symbol another archive defines must come before it on a static
//! link line. Strongly connected components (Tarjan) of that "imports from" graph become
//! groups; the groups are ordered topologically, ties by the name order of the input.

use std::collections::BTreeSet;

/// One position on the link line: a single archive or a cycle linked as a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkUnit {
    /// One archive (index into the input).
    Single(usize),
    /// Archives that import from each other (indices, in input order).
    Group(Vec<usize>),
}

impl LinkUnit {
    /// The archive indices of this unit.
    pub fn members(&self) -> &[usize] {
        match self {
            LinkUnit::Single(index) => std::slice::from_ref(index),
            LinkUnit::Group(indices) => indices,
        }
    }
}

/// Orders `count` archives; `depends[a]` holds the archives `a` imports from.
pub fn link_order(depends: &[BTreeSet<usize>]) -> Vec<LinkUnit> {
    let components = strongly_connected(depends);
    let mut component_of = vec![0; depends.len()];
    for (c, members) in components.iter().enumerate() {
        for &m in members {
            component_of[m] = c;
        }
    }
    // Kahn's algorithm on the condensation; an edge a -> b means a must precede b.
    let mut incoming = vec![0usize; components.len()];
    let mut edges: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); components.len()];
    for (a, targets) in depends.iter().enumerate() {
        for &b in targets {
            let (ca, cb) = (component_of[a], component_of[b]);
            if ca != cb && edges[ca].insert(cb) {
                incoming[cb] += 1;
            }
        }
    }
    // Ready components, keyed by their smallest member so ties keep input order.
    let mut ready: BTreeSet<(usize, usize)> = (0..components.len())
        .filter(|&c| incoming[c] == 0)
        .map(|c| (components[c][0], c))
        .collect();
    let mut units = Vec::with_capacity(components.len());
    while let Some(first) = ready.pop_first() {
        let c = first.1;
        units.push(match components[c].as_slice() {
            [single] => LinkUnit::Single(*single),
            many => LinkUnit::Group(many.to_vec()),
        });
        for &next in &edges[c] {
            incoming[next] -= 1;
            if incoming[next] == 0 {
                ready.insert((components[next][0], next));
            }
        }
    }
    units
}

/// Tarjan's algorithm; each component's members sorted ascending.
fn strongly_connected(depends: &[BTreeSet<usize>]) -> Vec<Vec<usize>> {
    struct State<'a> {
        depends: &'a [BTreeSet<usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        components: Vec<Vec<usize>>,
    }
    fn visit(s: &mut State<'_>, v: usize) {
        s.index[v] = Some(s.next);
        s.low[v] = s.next;
        s.next += 1;
        s.stack.push(v);
        s.on_stack[v] = true;
        for &w in s.depends[v].iter() {
            match s.index[w] {
                None => {
                    visit(s, w);
                    s.low[v] = s.low[v].min(s.low[w]);
                }
                Some(w_index) if s.on_stack[w] => s.low[v] = s.low[v].min(w_index),
                Some(_) => {}
            }
        }
        if Some(s.low[v]) == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack[w] = false;
                component.push(w);
                if w == v {
                    break;
                }
            }
            component.sort_unstable();
            s.components.push(component);
        }
    }
    let n = depends.len();
    let mut state = State {
        depends,
        index: vec![None; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        next: 0,
        components: Vec::new(),
    };
    for v in 0..n {
        if state.index[v].is_none() {
            visit(&mut state, v);
        }
    }
    state.components
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(usize, usize)], n: usize) -> Vec<BTreeSet<usize>> {
        let mut g = vec![BTreeSet::new(); n];
        for &(a, b) in edges {
            g[a].insert(b);
        }
        g
    }

    #[test]
    fn dependents_come_first() {
        // 0 = base, 1 = vfs (imports base), 2 = ext2 (imports vfs and base).
        let order = link_order(&graph(&[(1, 0), (2, 1), (2, 0)], 3));
        assert_eq!(
            order,
            [
                LinkUnit::Single(2),
                LinkUnit::Single(1),
                LinkUnit::Single(0)
            ]
        );
    }

    #[test]
    fn cycles_become_groups() {
        // 0 <-> 1 cycle, 2 imports 0, 1 imports 3.
        let order = link_order(&graph(&[(0, 1), (1, 0), (2, 0), (1, 3)], 4));
        assert_eq!(
            order,
            [
                LinkUnit::Single(2),
                LinkUnit::Group(vec![0, 1]),
                LinkUnit::Single(3)
            ]
        );
    }

    #[test]
    fn independent_archives_keep_input_order() {
        let order = link_order(&graph(&[], 3));
        assert_eq!(
            order,
            [
                LinkUnit::Single(0),
                LinkUnit::Single(1),
                LinkUnit::Single(2)
            ]
        );
    }
}
