//! `hercle venue NAME watch …` (in progress).
