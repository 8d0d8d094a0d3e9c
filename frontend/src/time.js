// Times in Home Assistant's time zone (not the browser's): RoomDB stores UTC, the household lives
// in the zone Home Assistant is configured with, and label times are entered as its wall clock.

function parts(iso, tz) {
  const format = new Intl.DateTimeFormat("en-CA", {
    timeZone: tz,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  });
  const out = {};
  for (const part of format.formatToParts(new Date(iso))) {
    out[part.type] = part.value;
  }
  return out;
}

/** "2026-04-10 22:30" in `tz`. */
export function formatLocal(iso, tz) {
  const p = parts(iso, tz);
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
}

/** "22:30" in `tz`. */
export function wallClock(iso, tz) {
  const p = parts(iso, tz);
  return `${p.hour}:${p.minute}`;
}

/** The value of a datetime-local input showing `iso` in `tz` ("2026-04-10T22:30"). */
export function localInput(iso, tz) {
  const p = parts(iso, tz);
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
}

/** Quarter hours from local noon (0) to the next noon (95) of the instant `iso` in `tz`. */
export function slotFromNoon(iso, tz) {
  const p = parts(iso, tz);
  const minutes = Number(p.hour) * 60 + Number(p.minute);
  return Math.floor((((minutes - 720) % 1440) + 1440) % 1440 / 15);
}
