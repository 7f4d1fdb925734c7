"""`events.progress`: a job's progress summed over its chunks in Redis (a Lua script), and never going down."""

from typing import Any

import fakeredis

from events.progress import ProgressReporter, highest, record_done


def test_progress_is_the_sum_over_chunks_and_only_rises(fake_redis: fakeredis.FakeRedis) -> None:
    assert record_done(fake_redis, "j", 0, 10.0, 100.0) == 10
    assert record_done(fake_redis, "j", 1, 25.0, 100.0) == 35
    assert record_done(fake_redis, "j", 0, 10.0, 100.0) is None  # nothing new
    assert record_done(fake_redis, "j", 1, 24.0, 100.0) is None  # a retried chunk starting over: not down
    assert record_done(fake_redis, "j", 2, 70.0, 100.0) == 99  # 100 is the finished job's
    assert highest(fake_redis, "j") == 99
    assert highest(fake_redis, "other") == 0


def test_a_chunk_reporter_sends_the_job_s_progress_in_the_recording_s_time(fake_redis: fakeredis.FakeRedis) -> None:
    sent: list[dict[str, Any]] = []
    record_done(fake_redis, "j", 0, 40.0, 120.0)  # another worker's chunk is a third done
    reporter = ProgressReporter("j", sent.append, fake_redis, total_s=120.0, chunk=1, start_s=40.0)

    reporter.enter("transcribing")
    reporter.transcribed_until(70.0)  # 30 s into this chunk, within a quarter second: counted, sent with the next

    assert [(event["progress"], event["current_step"]) for event in sent] == [(33, "transcribing")]
    assert (reporter.progress, highest(fake_redis, "j")) == (58, 58)
