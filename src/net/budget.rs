//! A memory budget shared by every request body clawgate holds in memory
//! (read to decide or to hash for re-signing), so that many large or stalled
//! bodies cannot grow it without bound.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The unit the budget counts in: bytes are rounded up to whole KiB.
const UNIT: usize = 1024;

/// The bytes of request bodies all requests together may hold.
#[derive(Debug, Clone)]
pub struct Budget {
    units: Arc<Semaphore>,
    total: usize,
}

/// Why bytes could not be drawn from the budget.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error(
    "clawgate already holds {} MiB of request bodies, its limit (gateway.body_memory_mb); try again shortly",
    .total >> 20
)]
pub struct OverBudget {
    /// The budget, in bytes.
    pub total: usize,
}

/// Bytes drawn from a [`Budget`] for one request, given back when dropped.
#[derive(Debug, Default)]
pub struct Reservation {
    permit: Option<OwnedSemaphorePermit>,
}

impl Budget {
    /// A budget of `bytes`.
    pub fn new(bytes: usize) -> Budget {
        let units = bytes.div_ceil(UNIT).min(Semaphore::MAX_PERMITS);
        Budget {
            units: Arc::new(Semaphore::new(units)),
            total: bytes,
        }
    }

    /// Grows `held` to cover `bytes` in all, without waiting: either the
    /// budget has room now, or the request is refused.
    pub fn reserve(&self, held: &mut Reservation, bytes: usize) -> Result<(), OverBudget> {
        let have = held.permit.as_ref().map_or(0, |p| p.num_permits());
        let more = bytes.div_ceil(UNIT).saturating_sub(have);
        if more == 0 {
            return Ok(());
        }
        let over = OverBudget { total: self.total };
        let more = u32::try_from(more).map_err(|_| over)?;
        let permit = Arc::clone(&self.units).try_acquire_many_owned(more).map_err(|_| over)?;
        match &mut held.permit {
            Some(existing) => existing.merge(permit),
            None => held.permit = Some(permit),
        }
        Ok(())
    }

    /// Bytes not drawn at the moment.
    pub fn available(&self) -> usize {
        self.units.available_permits().saturating_mul(UNIT)
    }
}

impl Reservation {
    /// Adds `other` to this reservation; both are given back together.
    pub fn absorb(&mut self, other: Reservation) {
        match (&mut self.permit, other.permit) {
            (Some(mine), Some(theirs)) => mine.merge(theirs),
            (None, theirs) => self.permit = theirs,
            (Some(_), None) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_draw_in_kib_and_give_back_on_drop() {
        let budget = Budget::new(10 * UNIT);
        let mut first = Reservation::default();
        budget.reserve(&mut first, 4 * UNIT + 1).unwrap();
        assert_eq!(budget.available(), 5 * UNIT);
        // Growing to a size already covered draws nothing more.
        budget.reserve(&mut first, 5 * UNIT).unwrap();
        assert_eq!(budget.available(), 5 * UNIT);
        let mut second = Reservation::default();
        let over = budget.reserve(&mut second, 6 * UNIT).unwrap_err();
        assert!(over.to_string().contains("body_memory_mb"), "{over}");
        budget.reserve(&mut second, 5 * UNIT).unwrap();
        assert_eq!(budget.available(), 0);
        first.absorb(second);
        drop(first);
        assert_eq!(budget.available(), 10 * UNIT);
    }
}
