//! `--partition hash:K/N`: deterministic sharding, as nextest does it — a scenario belongs to shard
//! `K` of `N` when a stable hash of its id is `K-1` modulo `N`. The same id lands in the same shard on
//! every machine and in every run, whatever else the packs contain, so a CI matrix of `N` jobs runs
//! every scenario exactly once (`konform report merge` joins their reports).

use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Partition {
    /// 1-based shard number.
    pub shard: u64,
    pub total: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("partition `{0}`: expected hash:K/N with 1 ≤ K ≤ N (e.g. hash:1/3)")]
pub struct PartitionError(String);

impl FromStr for Partition {
    type Err = PartitionError;
    fn from_str(s: &str) -> Result<Partition, PartitionError> {
        let err = || PartitionError(s.to_string());
        let (k, n) = s
            .strip_prefix("hash:")
            .and_then(|r| r.split_once('/'))
            .ok_or_else(err)?;
        let shard: u64 = k.parse().map_err(|_| err())?;
        let total: u64 = n.parse().map_err(|_| err())?;
        if shard == 0 || total == 0 || shard > total {
            return Err(err());
        }
        Ok(Partition { shard, total })
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "hash:{}/{}", self.shard, self.total)
    }
}

impl Partition {
    /// Whether the scenario with this id runs in this shard.
    pub fn includes(&self, id: &str) -> bool {
        let h = ti_core::sha256(id.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&h[..8]);
        u64::from_be_bytes(first) % self.total == self.shard - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        let p: Partition = "hash:2/3".parse().unwrap();
        assert_eq!((p.shard, p.total), (2, 3));
        assert_eq!(p.to_string(), "hash:2/3");
        for bad in [
            "hash:0/3",
            "hash:4/3",
            "hash:1/0",
            "count:1/2",
            "hash:1",
            "hash:a/b",
        ] {
            assert!(bad.parse::<Partition>().is_err(), "{bad}");
        }
    }

    #[test]
    fn every_id_is_in_exactly_one_shard_and_shards_are_balanced() {
        let ids: Vec<String> = (0..600).map(|i| format!("scenario-{i}")).collect();
        let shards: Vec<Partition> = (1..=3).map(|k| Partition { shard: k, total: 3 }).collect();
        let mut sizes = [0usize; 3];
        for id in &ids {
            let hits: Vec<usize> = (0..3).filter(|&k| shards[k].includes(id)).collect();
            assert_eq!(hits.len(), 1, "{id}");
            sizes[hits[0]] += 1;
        }
        assert!(sizes.iter().all(|&n| n > 150), "{sizes:?}");
        // Stable: the same answer for the same id, independent of the other ids.
        assert_eq!(
            shards[0].includes("vst-wellknown-verified"),
            shards[0].includes("vst-wellknown-verified")
        );
    }
}
