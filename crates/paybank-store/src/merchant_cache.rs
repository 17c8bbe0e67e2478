//! Merchants as read, kept in memory: every API request authenticates one, and a merchant
//! record never changes after it is created (the store has no statement that updates one), so
//! a record once read stays true on every node. Only found merchants are kept, so a merchant
//! created on another node is read from the database until found.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use paybank_core::ids::MerchantId;
use paybank_core::model::Merchant;

/// Most merchants kept; past it the cache starts over (a bound, not an expected size).
const MERCHANTS_MAX: usize = 10_000;

#[derive(Default)]
pub(crate) struct MerchantCache {
    maps: RwLock<Maps>,
}

#[derive(Default)]
struct Maps {
    by_access_id: HashMap<String, Arc<Merchant>>,
    access_id_by_id: HashMap<MerchantId, String>,
}

impl MerchantCache {
    pub(crate) fn by_access_id(&self, access_id: &str) -> Option<Arc<Merchant>> {
        let maps = self.maps.read().unwrap_or_else(|p| p.into_inner());
        maps.by_access_id.get(access_id).cloned()
    }

    pub(crate) fn by_id(&self, merchant_id: MerchantId) -> Option<Arc<Merchant>> {
        let maps = self.maps.read().unwrap_or_else(|p| p.into_inner());
        let access_id = maps.access_id_by_id.get(&merchant_id)?;
        maps.by_access_id.get(access_id).cloned()
    }

    /// Keeps what a read found, and hands it back.
    pub(crate) fn keep(&self, merchant: Option<Merchant>) -> Option<Arc<Merchant>> {
        let merchant = Arc::new(merchant?);
        let mut maps = self.maps.write().unwrap_or_else(|p| p.into_inner());
        if maps.by_access_id.len() >= MERCHANTS_MAX {
            *maps = Maps::default();
        }
        maps.access_id_by_id
            .insert(merchant.merchant_id, merchant.access_id.clone());
        maps.by_access_id
            .insert(merchant.access_id.clone(), Arc::clone(&merchant));
        Some(merchant)
    }
}
