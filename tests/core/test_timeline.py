from studio.core.timeline import Timeline


def test_playhead_is_clamped_and_emits_once_per_change():
    tl = Timeline(10, 25)
    seen = []
    tl.current_changed.connect(seen.append)
    tl.set_current(4)
    tl.set_current(4)
    tl.step(100)
    tl.step(-100)
    assert seen == [4, 9, 0]


def test_in_out_points_and_looping_playback():
    tl = Timeline(20)
    tl.set_current(5)
    tl.set_in()
    tl.set_current(8)
    tl.set_out()
    assert (tl.in_point, tl.out_point) == (5, 8)
    assert list(tl.range_frames()) == [5, 6, 7, 8]
    assert tl.next_playback_frame() == 5  # wraps at the out point
    assert tl.next_playback_frame(-1) == 7
    tl.set_loop(False)
    assert tl.next_playback_frame() is None


def test_out_before_in_pulls_in_point():
    tl = Timeline(20)
    tl.set_in(10)
    tl.set_out(3)
    assert (tl.in_point, tl.out_point) == (3, 3)


def test_home_end_toggle_between_range_and_clip_ends():
    tl = Timeline(30)
    tl.set_in(5)
    tl.set_out(20)
    tl.set_current(12)
    tl.go_start()
    assert tl.current == 5
    tl.go_start()
    assert tl.current == 0
    tl.go_end()
    assert tl.current == 20
    tl.go_end()
    assert tl.current == 29


def test_new_clip_resets_range_and_clamps():
    tl = Timeline(30)
    tl.set_current(25)
    ranges = []
    tl.range_changed.connect(lambda a, b: ranges.append((a, b)))
    tl.set_frame_count(10, fps=12)
    assert tl.current == 9 and tl.fps == 12
    assert ranges[-1] == (0, 9)
    empty = Timeline(0)
    assert empty.next_playback_frame() is None and list(empty.range_frames()) == []
