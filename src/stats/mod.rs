//! Anonymised statistics: the 60 % indicator, disclosure control and releases.

pub mod disclosure;
