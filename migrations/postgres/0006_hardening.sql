-- Videos are found per owner and YouTube id (one video per id and owner, whatever happens to
-- the channel link). PostgreSQL's identity columns never reuse ids already.
CREATE INDEX videos_by_user_youtube ON videos (user_id, youtube_id);
