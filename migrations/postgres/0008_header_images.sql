-- Header images: the style the user picked and the seed of the last picture, so a picture can
-- be reproduced or re-rolled.
ALTER TABLE drafts ADD COLUMN header_style TEXT NOT NULL DEFAULT 'photo';
ALTER TABLE drafts ADD COLUMN header_seed BIGINT NOT NULL DEFAULT 0;
