-- The network a money-moving transaction settles over (ach, rtp, fednow), chosen at acceptance.
ALTER TABLE transactions ADD COLUMN rail TEXT;
