//! A memory budget shared by every request body clawgate holds in memory
//! (read to decide or to hash for re-signing), so that many large or stalled
//! bodies cannot grow it without bound, and one client cannot take all of
//! it: each may hold at most a quarter.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// The share of the budget one client may hold: one part in this many.
const SHARE: usize = 4;

/// The bytes of request bodies all requests together may hold.
#[derive(Debug, Clone)]
pub struct Budget {
    held: Arc<Mutex<Held>>,
    total: usize,
}

#[derive(Debug, Default)]
struct Held {
    all: usize,
    by: HashMap<String, usize>,
}

/// Why bytes could not be drawn from the budget.
#[derive(Debug, Clone, Copy, thiserror::Error)]
pub enum OverBudget {
    /// All requests together hold the whole budget.
    #[error(
        "clawgate already holds {} MiB of request bodies, its limit (gateway.body_memory_mb); try again shortly",
        .0 >> 20
    )]
    All(usize),
    /// This client's requests hold its share.
    #[error(
        "this agent's requests already hold {} MiB of request bodies, its share of gateway.body_memory_mb; \
         try again shortly",
        .0 >> 20
    )]
    Share(usize),
}

/// Bytes drawn from a [`Budget`] for one request, given back when dropped.
#[derive(Debug, Default)]
pub struct Reservation {
    drawn: Vec<Drawn>,
}

#[derive(Debug)]
struct Drawn {
    held: Arc<Mutex<Held>>,
    who: String,
    bytes: usize,
}

impl Budget {
    /// A budget of `bytes`.
    pub fn new(bytes: usize) -> Budget {
        Budget {
            held: Arc::default(),
            total: bytes,
        }
    }

    /// Grows `reservation`, drawn for `who`, to cover `bytes` in all,
    /// without waiting: either the budget and `who`'s share have room now,
    /// or the request is refused.
    pub fn reserve(&self, reservation: &mut Reservation, who: &str, bytes: usize) -> Result<(), OverBudget> {
        let have: usize = reservation.drawn.iter().filter(|d| d.who == who).map(|d| d.bytes).sum();
        let more = bytes.saturating_sub(have);
        if more == 0 {
            return Ok(());
        }
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        let share = self.total / SHARE;
        let mine = held.by.get(who).copied().unwrap_or(0);
        if mine.saturating_add(more) > share {
            return Err(OverBudget::Share(share));
        }
        if held.all.saturating_add(more) > self.total {
            return Err(OverBudget::All(self.total));
        }
        held.all += more;
        held.by.insert(who.to_string(), mine + more);
        drop(held);
        reservation.drawn.push(Drawn {
            held: Arc::clone(&self.held),
            who: who.to_string(),
            bytes: more,
        });
        Ok(())
    }
}

impl Reservation {
    /// Adds `other` to this reservation; both are given back together.
    pub fn absorb(&mut self, other: Reservation) {
        self.drawn.extend(other.drawn);
    }
}

impl Drop for Drawn {
    fn drop(&mut self) {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        held.all = held.all.saturating_sub(self.bytes);
        if let Some(mine) = held.by.get_mut(&self.who) {
            *mine = mine.saturating_sub(self.bytes);
            if *mine == 0 {
                held.by.remove(&self.who);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(budget: &Budget) -> usize {
        budget.held.lock().unwrap().all
    }

    #[test]
    fn reservations_stay_within_the_budget_and_each_share_and_give_back_on_drop() {
        let budget = Budget::new(4000);
        let mut first = Reservation::default();
        budget.reserve(&mut first, "a", 600).unwrap();
        // Growing to a size already covered draws nothing more.
        budget.reserve(&mut first, "a", 600).unwrap();
        assert_eq!(held(&budget), 600);
        let mut second = Reservation::default();
        let over = budget.reserve(&mut second, "a", 500).unwrap_err();
        assert!(matches!(over, OverBudget::Share(1000)), "{over}");
        budget.reserve(&mut second, "a", 400).unwrap();
        first.absorb(second);
        let mut others = Reservation::default();
        for who in ["b", "c", "d"] {
            budget.reserve(&mut others, who, 1000).unwrap();
        }
        let mut fifth = Reservation::default();
        assert!(matches!(budget.reserve(&mut fifth, "e", 1), Err(OverBudget::All(4000))));
        drop(first);
        assert_eq!(held(&budget), 3000);
        budget.reserve(&mut fifth, "e", 1000).unwrap();
    }
}
