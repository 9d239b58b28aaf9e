//! Rump contract suite and native-vs-rump comparisons (filled by their issues).
