//! Packing encoded sequences into rows of at most `max_length` tokens, for padding-free training.
//!
//! Best-fit decreasing puts each sequence, longest first, into the open pack it fills best; `wrapped` concatenates
//! everything and cuts it every `max_length` tokens. Each pack records its sequences' lengths, position ids that
//! restart at 0 for every sequence, and `cu_seqlens` (the layout FlashAttention's varlen kernels take).
//!
//! The first label of every packed sequence (every piece of a split or wrapped one too) is -100, as TRL sets it:
//! the model predicts token `i + 1` from token `i`, so in a pack the last token of one sequence would otherwise be
//! trained to predict the first token of the next.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::labels::spans::IGNORE_INDEX;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Best-fit decreasing.
    Bfd,
    /// Concatenate in order and cut every `max_length` tokens.
    Wrapped,
}

/// What happens to a sequence longer than `max_length` (best-fit decreasing only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    /// Keep its first `max_length` tokens.
    Truncate,
    /// Cut it into consecutive pieces of at most `max_length` tokens, each packed as a sequence.
    Split,
    /// Leave it out.
    Drop,
}

impl std::str::FromStr for Strategy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Strategy> {
        match s {
            "bfd" => Ok(Strategy::Bfd),
            "wrapped" => Ok(Strategy::Wrapped),
            _ => Err(Error::Input(format!("strategy must be 'bfd' or 'wrapped', got '{s}'"))),
        }
    }
}

impl std::str::FromStr for Overflow {
    type Err = Error;
    fn from_str(s: &str) -> Result<Overflow> {
        match s {
            "truncate" => Ok(Overflow::Truncate),
            "split" => Ok(Overflow::Split),
            "drop" => Ok(Overflow::Drop),
            _ => Err(Error::Input(format!("overflow must be 'truncate', 'split' or 'drop', got '{s}'"))),
        }
    }
}

/// Packed rows as flat buffers: the layout of Arrow `list<int32>` columns.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Packed {
    pub input_ids: Vec<i32>,
    pub labels: Vec<i32>,
    pub position_ids: Vec<i32>,
    /// Pack `p` holds tokens `token_offsets[p]..token_offsets[p + 1]`.
    pub token_offsets: Vec<i32>,
    /// Lengths of the sequences in each pack; pack `p` has `seq_lengths[seq_offsets[p]..seq_offsets[p + 1]]`.
    pub seq_lengths: Vec<i32>,
    pub seq_offsets: Vec<i32>,
    /// `[0, l1, l1 + l2, ...]` per pack; pack `p` has `cu_seqlens[cu_offsets[p]..cu_offsets[p + 1]]`.
    pub cu_seqlens: Vec<i32>,
    pub cu_offsets: Vec<i32>,
    /// The input row of each sequence, laid out as `seq_lengths`.
    pub seq_rows: Vec<i32>,
    /// Sequences cut to `max_length`, cut into pieces, and left out, and the tokens that were lost.
    pub truncated: usize,
    pub split: usize,
    pub dropped: usize,
    pub tokens_dropped: usize,
}

impl Packed {
    pub fn num_packs(&self) -> usize {
        self.token_offsets.len() - 1
    }
}

/// A run of tokens `start..start + len` of the flat input buffers, packed as one sequence.
#[derive(Debug, Clone, Copy)]
struct Piece {
    row: usize,
    start: usize,
    len: usize,
}

/// Packs the sequences `offsets[i]..offsets[i + 1]` of `input_ids` / `labels`.
pub fn pack(
    input_ids: &[i32],
    labels: &[i32],
    offsets: &[i32],
    max_length: usize,
    strategy: Strategy,
    overflow: Overflow,
) -> Result<Packed> {
    if max_length == 0 || max_length > i32::MAX as usize {
        return Err(Error::Input(format!("max_length must be between 1 and 2^31 - 1, got {max_length}")));
    }
    if input_ids.len() != labels.len() {
        return Err(Error::Input("input_ids and labels hold different numbers of tokens".into()));
    }
    let bounds = |i: usize| -> Result<(usize, usize)> {
        let (start, end) = (offsets[i], offsets[i + 1]);
        if start < 0 || end < start || end as usize > input_ids.len() {
            return Err(Error::Input(format!("row {i}: offsets {start}..{end} are out of bounds")));
        }
        Ok((start as usize, end as usize))
    };
    let mut packed = Packed::default();
    let bins: Vec<Vec<Piece>> = match strategy {
        Strategy::Wrapped => {
            let mut pieces = Vec::with_capacity(offsets.len());
            for i in 0..offsets.len().saturating_sub(1) {
                let (start, end) = bounds(i)?;
                if end > start {
                    pieces.push(Piece { row: i, start, len: end - start });
                }
            }
            wrap(&pieces, max_length)
        }
        Strategy::Bfd => {
            let mut pieces = Vec::with_capacity(offsets.len());
            for i in 0..offsets.len().saturating_sub(1) {
                let (start, end) = bounds(i)?;
                let len = end - start;
                if len <= max_length {
                    if len > 0 {
                        pieces.push(Piece { row: i, start, len });
                    }
                    continue;
                }
                match overflow {
                    Overflow::Truncate => {
                        packed.truncated += 1;
                        packed.tokens_dropped += len - max_length;
                        pieces.push(Piece { row: i, start, len: max_length });
                    }
                    Overflow::Split => {
                        packed.split += 1;
                        pieces.extend((start..end).step_by(max_length).map(|s| Piece {
                            row: i,
                            start: s,
                            len: max_length.min(end - s),
                        }));
                    }
                    Overflow::Drop => {
                        packed.dropped += 1;
                        packed.tokens_dropped += len;
                    }
                }
            }
            best_fit_decreasing(pieces, max_length)
        }
    };
    write_packs(&mut packed, &bins, input_ids, labels);
    Ok(packed)
}

/// Best-fit decreasing: the longest pieces first, each into the open bin with the least room that still fits it.
fn best_fit_decreasing(mut pieces: Vec<Piece>, max_length: usize) -> Vec<Vec<Piece>> {
    // Stable sort: equal lengths keep their input order, so packing is deterministic.
    pieces.sort_by_key(|piece| std::cmp::Reverse(piece.len));
    let mut bins: Vec<Vec<Piece>> = Vec::new();
    // Remaining room -> bins with exactly that much room left.
    let mut by_room: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for piece in pieces {
        let fit =
            by_room.range_mut(piece.len..).next().map(|(&room, bins)| (room, bins.pop().expect("no empty lists")));
        let (bin, room) = match fit {
            Some((room, bin)) => {
                if by_room[&room].is_empty() {
                    by_room.remove(&room);
                }
                (bin, room)
            }
            None => {
                bins.push(Vec::new());
                (bins.len() - 1, max_length)
            }
        };
        bins[bin].push(piece);
        let left = room - piece.len;
        if left > 0 {
            by_room.entry(left).or_default().push(bin);
        }
    }
    bins
}

/// Concatenates the pieces in order and cuts every `max_length` tokens; a piece cut in two becomes two sequences.
fn wrap(pieces: &[Piece], max_length: usize) -> Vec<Vec<Piece>> {
    let mut bins = vec![Vec::new()];
    let mut room = max_length;
    for &piece in pieces {
        let mut rest = piece;
        while rest.len > 0 {
            if room == 0 {
                bins.push(Vec::new());
                room = max_length;
            }
            let take = rest.len.min(room);
            bins.last_mut().expect("at least one bin").push(Piece { len: take, ..rest });
            rest = Piece { start: rest.start + take, len: rest.len - take, ..rest };
            room -= take;
        }
    }
    if bins.last().is_some_and(Vec::is_empty) {
        bins.pop();
    }
    bins
}

fn write_packs(packed: &mut Packed, bins: &[Vec<Piece>], input_ids: &[i32], labels: &[i32]) {
    let tokens: usize = bins.iter().flatten().map(|p| p.len).sum();
    let sequences: usize = bins.iter().map(Vec::len).sum();
    packed.input_ids.reserve_exact(tokens);
    packed.labels.reserve_exact(tokens);
    packed.position_ids.reserve_exact(tokens);
    packed.seq_lengths.reserve_exact(sequences);
    packed.seq_rows.reserve_exact(sequences);
    packed.cu_seqlens.reserve_exact(sequences + bins.len());
    packed.token_offsets.push(0);
    packed.seq_offsets.push(0);
    packed.cu_offsets.push(0);
    for bin in bins {
        let mut cumulative = 0i32;
        packed.cu_seqlens.push(0);
        for piece in bin {
            let range = piece.start..piece.start + piece.len;
            packed.input_ids.extend_from_slice(&input_ids[range.clone()]);
            packed.labels.push(IGNORE_INDEX);
            packed.labels.extend_from_slice(&labels[range][1..]);
            packed.position_ids.extend(0..piece.len as i32);
            packed.seq_lengths.push(piece.len as i32);
            packed.seq_rows.push(piece.row as i32);
            cumulative += piece.len as i32;
            packed.cu_seqlens.push(cumulative);
        }
        packed.token_offsets.push(packed.input_ids.len() as i32);
        packed.seq_offsets.push(packed.seq_lengths.len() as i32);
        packed.cu_offsets.push(packed.cu_seqlens.len() as i32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sequences of the given lengths; token values encode (sequence, position) so that moves are traceable.
    fn sequences(lengths: &[usize]) -> (Vec<i32>, Vec<i32>, Vec<i32>) {
        let mut ids = Vec::new();
        let mut offsets = vec![0];
        for (s, &len) in lengths.iter().enumerate() {
            ids.extend((0..len).map(|p| (s * 1000 + p) as i32));
            offsets.push(ids.len() as i32);
        }
        let labels = ids.iter().map(|&t| if t % 2 == 0 { t } else { -100 }).collect();
        (ids, labels, offsets)
    }

    fn check_invariants(packed: &Packed, max_length: usize) {
        for p in 0..packed.num_packs() {
            let tokens = (packed.token_offsets[p + 1] - packed.token_offsets[p]) as usize;
            assert!(tokens <= max_length);
            let lengths = &packed.seq_lengths[packed.seq_offsets[p] as usize..packed.seq_offsets[p + 1] as usize];
            let cu = &packed.cu_seqlens[packed.cu_offsets[p] as usize..packed.cu_offsets[p + 1] as usize];
            assert_eq!(cu.len(), lengths.len() + 1);
            assert_eq!(*cu.last().unwrap() as usize, tokens);
            let positions =
                &packed.position_ids[packed.token_offsets[p] as usize..packed.token_offsets[p + 1] as usize];
            assert_eq!(positions.len(), tokens);
            let rows = &packed.seq_rows[packed.seq_offsets[p] as usize..packed.seq_offsets[p + 1] as usize];
            for (w, &row) in cu.windows(2).zip(rows) {
                // Token values encode (sequence, position): each sequence comes from the row it names.
                assert_eq!(packed.input_ids[packed.token_offsets[p] as usize + w[0] as usize] / 1000, row);
            }
            for (w, &len) in cu.windows(2).zip(lengths) {
                assert_eq!(w[1] - w[0], len);
                assert_eq!(&positions[w[0] as usize..w[1] as usize], &(0..len).collect::<Vec<_>>()[..]);
            }
        }
        // Labels travel with their tokens, except the first of each sequence, which is never trained.
        for (i, (&id, &label)) in packed.input_ids.iter().zip(&packed.labels).enumerate() {
            let first = packed.position_ids[i] == 0;
            assert_eq!(label, if id % 2 == 0 && !first { id } else { -100 });
        }
    }

    fn sorted(mut v: Vec<i32>) -> Vec<i32> {
        v.sort_unstable();
        v
    }

    #[test]
    fn bfd_keeps_every_token_once_and_fills_packs() {
        let (ids, labels, offsets) = sequences(&[6, 4, 5, 3, 2, 7, 1, 2]);
        let packed = pack(&ids, &labels, &offsets, 10, Strategy::Bfd, Overflow::Truncate).unwrap();
        check_invariants(&packed, 10);
        assert_eq!(sorted(packed.input_ids.clone()), sorted(ids));
        assert_eq!(packed.num_packs(), 3); // 30 tokens in 3 packs of 10
        assert_eq!((packed.truncated, packed.dropped, packed.tokens_dropped), (0, 0, 0));
    }

    #[test]
    fn bfd_picks_the_tightest_fit() {
        let (ids, labels, offsets) = sequences(&[7, 5, 3, 2]);
        let packed = pack(&ids, &labels, &offsets, 10, Strategy::Bfd, Overflow::Truncate).unwrap();
        // 7 -> A(3 left), 5 -> B(5 left), 3 -> A (tightest), 2 -> B.
        assert_eq!(packed.seq_lengths, [7, 3, 5, 2]);
    }

    #[test]
    fn overflow_policies() {
        let (ids, labels, offsets) = sequences(&[25, 3]);
        let truncated = pack(&ids, &labels, &offsets, 10, Strategy::Bfd, Overflow::Truncate).unwrap();
        assert_eq!((truncated.truncated, truncated.tokens_dropped), (1, 15));
        assert_eq!(truncated.input_ids[..10], ids[..10]);
        let split = pack(&ids, &labels, &offsets, 10, Strategy::Bfd, Overflow::Split).unwrap();
        check_invariants(&split, 10);
        assert_eq!(split.split, 1);
        assert_eq!(sorted(split.input_ids), sorted(ids.clone()));
        let dropped = pack(&ids, &labels, &offsets, 10, Strategy::Bfd, Overflow::Drop).unwrap();
        assert_eq!((dropped.dropped, dropped.tokens_dropped, dropped.input_ids.len()), (1, 25, 3));
    }

    #[test]
    fn wrapped_cuts_every_max_length_tokens_in_order() {
        let (ids, labels, offsets) = sequences(&[4, 9, 3]);
        let packed = pack(&ids, &labels, &offsets, 5, Strategy::Wrapped, Overflow::Truncate).unwrap();
        check_invariants(&packed, 5);
        assert_eq!(packed.input_ids, ids);
        assert_eq!(packed.seq_lengths, [4, 1, 5, 3, 2, 1]);
        assert_eq!(packed.token_offsets, [0, 5, 10, 15, 16]);
    }

    #[test]
    fn first_label_of_every_sequence_is_ignored() {
        // Every token trained, as in a plain-text completion; a split sequence starts a new one at each piece.
        let ids: Vec<i32> = (0..12).collect();
        let offsets = [0, 5, 12];
        for (strategy, overflow) in [(Strategy::Bfd, Overflow::Split), (Strategy::Wrapped, Overflow::Truncate)] {
            let packed = pack(&ids, &ids, &offsets, 4, strategy, overflow).unwrap();
            for (i, (&id, &label)) in packed.input_ids.iter().zip(&packed.labels).enumerate() {
                assert_eq!(label, if packed.position_ids[i] == 0 { -100 } else { id }, "{strategy:?}");
            }
            assert!(packed.position_ids.iter().filter(|&&p| p == 0).count() >= 4);
        }
    }

    #[test]
    fn empty_rows_and_empty_input() {
        let (ids, labels, offsets) = sequences(&[0, 3, 0]);
        let packed = pack(&ids, &labels, &offsets, 4, Strategy::Bfd, Overflow::Truncate).unwrap();
        assert_eq!((packed.num_packs(), packed.seq_lengths.clone()), (1, vec![3]));
        let none = pack(&[], &[], &[0], 4, Strategy::Bfd, Overflow::Truncate).unwrap();
        assert_eq!(none.num_packs(), 0);
        assert!(matches!(pack(&[], &[], &[0], 0, Strategy::Bfd, Overflow::Truncate), Err(Error::Input(_))));
    }
}
