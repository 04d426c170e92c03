"""Twin of durations.go: chanemu.time.Duration."""
from chanemu import run
from chanemu import time
from chanemu.time import Duration, Hour, Millisecond, Minute, Nanosecond, Second, Microsecond

MAX, MIN = (1 << 63) - 1, -(1 << 63)


def main():
    ds = [Duration(v) for v in (0, 1, 999, 1000, 1001)] + [
        1500 * Microsecond, Second, Second + Nanosecond, 90 * Minute, Duration(-1),
        -Hour - 1, Duration(MAX), Duration(MIN), 4000 * Hour + 1]
    for d in ds:
        print(int(d), d)
    for s in ("2562047h47m16.854775807s", "-2562047h47m16.854775808s",
              "4000h0m0.000000001s", "1.5h", ".5us", "1\u00b5s2ns", "1.0000000001s",
              "0.3333333333333h", "2562047h47m16.854775808s", "1", "1d", "+-1s", "", "1e3s",
              "5.s", "00012ms"):
        try:
            d = time.parse_duration(s)
        except ValueError as e:
            print("parse", s, "error:", e)
        else:
            print("parse", s, "=", int(d), d)
    d = 2 * Hour + 3 * Minute + 4 * Second + 5 * Millisecond
    print(d, d // 7, d % Minute, -d // 7, -d % Minute, d * 3, d - Hour)
    for m in (Millisecond, Second, Minute, Hour, Duration(7), Duration(0)):
        print("round", m, d.round(m), (-d).round(m), "truncate", d.truncate(m),
              (-d).truncate(m))
    print(Duration(MIN).abs(), (-d).abs(), d.round(3 * Hour))
    print(f"{d.hours():.9f} {d.minutes():.9f} {d.seconds():.9f} {d.milliseconds()} "
          f"{d.microseconds()}")
    print("wrap", Duration(MAX) + 1)

    start = time.now()
    time.sleep(200 * Millisecond + Nanosecond)
    el = time.since(start)
    print("slept at least 200.000001ms:", str(el >= 200 * Millisecond + Nanosecond).lower())
    t = start.add(90 * Minute)
    print("t.Sub(start)", t.sub(start), "start.Sub(t)", start.sub(t))


if __name__ == "__main__":
    run(main, clock="virtual")
