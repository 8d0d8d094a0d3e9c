// RoomDB's sidebar panel. Home Assistant sets `hass`, `narrow` and `panel` on the element; every
// read and write goes through RoomDB's WebSocket API (`roomdb/...`), whose refusals arrive as
// translated messages that the panel shows as they are.
import { LitElement, css, html, nothing, svg } from "lit";
import { formatLocal, localInput, slotFromNoon, wallClock } from "./time.js";

const REASONS = {
  capability_missing: "not in the room's capabilities",
  segment_missing: "needs a segment_id",
  unknown_room: "room not in the mapping",
  unknown_domain: "unknown config domain",
};

const errorText = (err) => (err && err.message) || String(err);

class RoomDbPanel extends LitElement {
  static properties = {
    hass: { attribute: false },
    narrow: { type: Boolean },
    panel: { attribute: false },
    _rooms: { state: true },
    _mapping: { state: true },
    _status: { state: true },
    _sleep: { state: true },
    _loadError: { state: true },
    _room: { state: true },
    _domain: { state: true },
    _draft: { state: true },
    _configMessage: { state: true },
    _mappingMessage: { state: true },
    _overwrite: { state: true },
    _labelNight: { state: true },
    _labelMessage: { state: true },
  };

  constructor() {
    super();
    this._loaded = false;
    this._room = "";
    this._domain = "";
    this._draft = "{}";
    this._overwrite = false;
  }

  updated(changed) {
    if (changed.has("hass") && this.hass && !this._loaded) {
      this._loaded = true;
      this._refresh();
    }
  }

  _ws(type, data = {}) {
    return this.hass.callWS({ type, ...data });
  }

  async _refresh() {
    try {
      const [rooms, mapping, status, sleep] = await Promise.all([
        this._ws("roomdb/rooms/list"),
        this._ws("roomdb/mapping/status"),
        this._ws("roomdb/status/get"),
        this._ws("roomdb/sleep/nights", { nights: 14 }),
      ]);
      this._rooms = rooms;
      this._mapping = mapping;
      this._status = status;
      this._sleep = sleep;
      this._loadError = undefined;
      if (!this._room && rooms.rooms.length) {
        this._select(rooms.rooms[0].room_id, rooms.domains[0]);
      }
    } catch (err) {
      this._loadError = errorText(err);
    }
  }

  // -- room configurations ------------------------------------------------------------------

  _stored(roomId, domain) {
    const rooms = [...(this._rooms?.rooms ?? []), ...(this._rooms?.unmapped ?? [])];
    return rooms.find((room) => room.room_id === roomId)?.configs?.[domain];
  }

  _select(roomId, domain) {
    this._room = roomId;
    this._domain = domain;
    const stored = this._stored(roomId, domain);
    this._draft = JSON.stringify(stored ? stored.config_data : {}, null, 2);
    this._configMessage = undefined;
  }

  async _save() {
    let configData;
    try {
      configData = JSON.parse(this._draft);
    } catch (err) {
      this._configMessage = { error: true, text: `The configuration is not JSON: ${err.message}` };
      return;
    }
    if (configData === null || typeof configData !== "object" || Array.isArray(configData)) {
      this._configMessage = { error: true, text: "The configuration must be a JSON object." };
      return;
    }
    try {
      const result = await this._ws("roomdb/config/update", {
        domain: this._domain,
        room_id: this._room,
        config_data: configData,
      });
      this._configMessage = {
        error: false,
        text: `Saved ${result.domain} of ${result.room_id}: version ${result.version} (${result.action}).`,
      };
      await this._refresh();
    } catch (err) {
      this._configMessage = { error: true, text: errorText(err) };
    }
  }

  async _delete() {
    try {
      const result = await this._ws("roomdb/config/delete", {
        domain: this._domain,
        room_id: this._room,
      });
      this._configMessage = {
        error: false,
        text: result.deleted
          ? `Deleted ${result.domain} of ${result.room_id} (was version ${result.version}).`
          : `${result.room_id} holds no ${result.domain} configuration.`,
      };
      await this._refresh();
      this._draft = "{}";
    } catch (err) {
      this._configMessage = { error: true, text: errorText(err) };
    }
  }

  // -- mapping --------------------------------------------------------------------------------

  async _generate() {
    try {
      const result = await this._ws("roomdb/mapping/generate", { overwrite: this._overwrite });
      this._mappingMessage = {
        error: false,
        text: `Wrote ${result.path} with ${result.rooms} rooms from your areas.`,
      };
      await this._refresh();
    } catch (err) {
      this._mappingMessage = { error: true, text: errorText(err) };
    }
  }

  // -- sleep labels -----------------------------------------------------------------------------

  _editLabel(night) {
    const tz = this._sleep.time_zone;
    const start = night.label?.start ?? night.suggestion?.bedtime ?? night.bedtime_estimate;
    const end = night.label?.end ?? night.suggestion?.wake ?? night.wake_estimate;
    this._labelNight = {
      night_date: night.night_date,
      bedtime: start ? localInput(start, tz) : `${night.night_date}T23:00`,
      wake: end ? localInput(end, tz) : `${nextDay(night.night_date)}T07:00`,
    };
    this._labelMessage = undefined;
  }

  async _saveLabel() {
    const { night_date, bedtime, wake } = this._labelNight;
    try {
      const result = await this._ws("roomdb/sleep/label_set", { night_date, bedtime, wake });
      const tz = this._sleep.time_zone;
      this._labelMessage = {
        error: false,
        text: `Label of ${night_date} stored: ${formatLocal(result.start, tz)} to ${formatLocal(result.end, tz)}.`,
      };
      this._labelNight = undefined;
      await this._refresh();
    } catch (err) {
      this._labelMessage = { error: true, text: errorText(err) };
    }
  }

  async _confirmSuggestion(night) {
    const night_date = night.night_date;
    try {
      const result = await this._ws("roomdb/sleep/suggestion_confirm", { night_date });
      const tz = this._sleep.time_zone;
      const needed = result.nights_needed
        ? ` ${result.nights_needed} more nights until the sleep model trains.`
        : "";
      this._labelMessage = {
        error: false,
        text: `Night of ${night_date} confirmed: ${formatLocal(result.start, tz)} to ${formatLocal(result.end, tz)}.${needed}`,
      };
      await this._refresh();
    } catch (err) {
      this._labelMessage = { error: true, text: errorText(err) };
    }
  }

  // -- rendering --------------------------------------------------------------------------------

  render() {
    return html`
      <div class="toolbar">
        <ha-menu-button .hass=${this.hass} .narrow=${this.narrow}></ha-menu-button>
        <h1>RoomDB</h1>
        <button id="refresh" @click=${this._refresh}>Refresh</button>
      </div>
      <main>
        ${this._loadError
          ? html`<p class="error" id="load-error">${this._loadError}</p>`
          : nothing}
        ${this._rooms ? this._renderRooms() : html`<p>Loading…</p>`}
        ${this._rooms ? this._renderEditor() : nothing}
        ${this._mapping ? this._renderMapping() : nothing}
        ${this._sleep ? this._renderSleep() : nothing}
        ${this._status ? this._renderHealth() : nothing}
      </main>
    `;
  }

  _renderRooms() {
    const { domains, rooms, unmapped } = this._rooms;
    return html`
      <section id="matrix">
        <h2>Rooms and config domains</h2>
        <p class="hint">
          What the area mapping allows in each room, and the stored configuration's version. Pick a
          cell to edit it.
        </p>
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th>Room</th>
                ${domains.map((domain) => html`<th>${domain}</th>`)}
              </tr>
            </thead>
            <tbody>
              ${rooms.map(
                (room) => html`<tr>
                  <th>
                    ${room.name}<br /><span class="id">${room.room_id}</span>
                    ${room.area_name ? html`<br /><span class="id">area ${room.area_name}</span>` : nothing}
                  </th>
                  ${domains.map((domain) => this._renderCell(room, domain))}
                </tr>`,
              )}
              ${unmapped.map(
                (room) => html`<tr class="unmapped">
                  <th>${room.room_id}<br /><span class="id">not in the mapping</span></th>
                  ${domains.map((domain) => this._renderCell(room, domain))}
                </tr>`,
              )}
            </tbody>
          </table>
        </div>
        ${rooms.length === 0
          ? html`<p>No rooms are mapped yet: generate a mapping from your areas below.</p>`
          : nothing}
      </section>
    `;
  }

  _renderCell(room, domain) {
    const reason = room.domains ? room.domains[domain].reason : "unknown_room";
    const stored = room.configs[domain];
    const selected = room.room_id === this._room && domain === this._domain;
    return html`<td
      class=${`${reason ? "denied" : "allowed"} ${selected ? "selected" : ""}`}
      data-room=${room.room_id}
      data-domain=${domain}
      @click=${() => this._select(room.room_id, domain)}
    >
      ${reason ? html`<span class="reason">${REASONS[reason] ?? reason}</span>` : html`allowed`}
      ${stored
        ? html`<br /><span class="version">v${stored.version}</span>
            <span class="id">${formatLocal(stored.updated_at, this.hass.config.time_zone)}</span>`
        : nothing}
    </td>`;
  }

  _renderEditor() {
    const { domains, rooms, unmapped } = this._rooms;
    const stored = this._stored(this._room, this._domain);
    const message = this._configMessage;
    return html`
      <section id="editor">
        <h2>Edit a room configuration</h2>
        <div class="row">
          <label
            >Room
            <select id="config-room" @change=${(ev) => this._select(ev.target.value, this._domain)}>
              ${[...rooms, ...unmapped].map(
                (room) =>
                  html`<option value=${room.room_id} ?selected=${room.room_id === this._room}>
                    ${room.name ?? room.room_id}
                  </option>`,
              )}
            </select>
          </label>
          <label
            >Config domain
            <select id="config-domain" @change=${(ev) => this._select(this._room, ev.target.value)}>
              ${domains.map(
                (domain) =>
                  html`<option value=${domain} ?selected=${domain === this._domain}>${domain}</option>`,
              )}
            </select>
          </label>
          <span id="config-version">
            ${stored
              ? `stored: version ${stored.version}, changed ${formatLocal(stored.updated_at, this.hass.config.time_zone)}`
              : "nothing stored"}
          </span>
        </div>
        <textarea
          id="config-data"
          rows="6"
          spellcheck="false"
          .value=${this._draft}
          @input=${(ev) => {
            this._draft = ev.target.value;
          }}
        ></textarea>
        <div class="row">
          <button id="config-save" @click=${this._save}>Save</button>
          <button id="config-delete" class="secondary" @click=${this._delete}>Delete</button>
        </div>
        ${message
          ? html`<p id="config-message" class=${message.error ? "error" : "ok"}>${message.text}</p>`
          : nothing}
      </section>
    `;
  }

  _renderMapping() {
    const mapping = this._mapping;
    const message = this._mappingMessage;
    return html`
      <section id="mapping">
        <h2>Area mapping</h2>
        <p>
          <span id="mapping-status" class=${mapping.status === "invalid" ? "error" : ""}
            >${mapping.status}</span
          >
          (in force: ${mapping.source}, ${mapping.rooms} rooms) · <code>${mapping.path}</code>
        </p>
        ${mapping.errors.length || mapping.warnings?.length
          ? html`${this._renderProblems("mapping-errors", "error", mapping.errors, mapping.error_count)}
            ${this._renderProblems("mapping-warnings", "", mapping.warnings ?? [], mapping.warning_count ?? 0)}`
          : html`<p>No problems.</p>`}
        <div class="row">
          <button id="mapping-generate" @click=${this._generate}>Generate mapping from areas</button>
          <label
            ><input
              type="checkbox"
              id="mapping-overwrite"
              .checked=${this._overwrite}
              @change=${(ev) => {
                this._overwrite = ev.target.checked;
              }}
            />
            Replace the existing file</label
          >
        </div>
        ${message
          ? html`<p id="mapping-message" class=${message.error ? "error" : "ok"}>${message.text}</p>`
          : nothing}
      </section>
    `;
  }

  // Errors keep the whole file out of force; warnings cost a room only what it cannot do.
  _renderProblems(id, cls, problems, count) {
    if (!problems.length) {
      return nothing;
    }
    return html`<ul id=${id} class=${cls}>
        ${problems.map(
          (problem) =>
            html`<li>
              ${problem.line ? `line ${problem.line}` : ""}${problem.room_id
                ? `${problem.line ? ", " : ""}room ${problem.room_id}`
                : ""}:
              ${problem.message}${problem.loses?.length
                ? ` (loses ${problem.loses.join(", ")})`
                : ""}
            </li>`,
        )}
      </ul>
      ${count > problems.length ? html`<p>and ${count - problems.length} more</p>` : nothing}`;
  }

  _renderSleep() {
    const sleep = this._sleep;
    const tz = sleep.time_zone;
    const message = this._labelMessage;
    return html`
      <section id="sleep">
        <h2>Sleep, last ${sleep.nights.length} nights</h2>
        <p class="hint">
          Each bar runs from noon to noon; darker is a higher sleep probability from the model
          ${sleep.model_run_id ? `(training run ${sleep.model_run_id})` : "(not trained yet)"}.
          Labels also come from ${sleep.helpers.sleep_start} and ${sleep.helpers.sleep_end}.
          "Suggested" is the rest period RoomDB found in the night's activity, lights, phone
          charging and media, with its confidence: confirm it, or correct it, to make it a label.
        </p>
        ${message
          ? html`<p id="label-message" class=${message.error ? "error" : "ok"}>${message.text}</p>`
          : nothing}
        <table class="sleep">
          <thead>
            <tr>
              <th>Night</th>
              <th>Probability (noon to noon)</th>
              <th>Label</th>
              <th>Suggested</th>
              <th>Estimate</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            ${[...sleep.nights].reverse().map((night) => this._renderNight(night, tz, sleep.threshold))}
          </tbody>
        </table>
      </section>
    `;
  }

  _renderNight(night, tz, threshold) {
    const editing = this._labelNight?.night_date === night.night_date;
    return html`<tr data-night=${night.night_date}>
        <th>${night.night_date}</th>
        <td>${this._renderBar(night, threshold)}</td>
        <td class="label">
          ${night.label
            ? html`${wallClock(night.label.start, tz)}–${wallClock(night.label.end, tz)}
                <span class="id">${night.label.source}</span>`
            : html`<span class="id">none</span>`}
        </td>
        <td class="suggestion">
          ${night.suggestion
            ? html`${wallClock(night.suggestion.bedtime, tz)}–${wallClock(night.suggestion.wake, tz)}
                <span class="id">${Math.round(night.suggestion.confidence * 100)} %</span>`
            : "—"}
        </td>
        <td>
          ${night.bedtime_estimate
            ? `${wallClock(night.bedtime_estimate, tz)}–${night.wake_estimate ? wallClock(night.wake_estimate, tz) : "…"}`
            : "—"}
        </td>
        <td>
          ${night.ended && night.suggestion && !night.suggestion.confirmed && !night.label
            ? html`<button class="confirm-suggestion" @click=${() => this._confirmSuggestion(night)}>
                Confirm
              </button>`
            : nothing}
          ${night.ended
            ? html`<button class="secondary edit-label" @click=${() => this._editLabel(night)}>
                ${night.label ? "Correct" : "Enter"}
              </button>`
            : html`<span class="id">in progress</span>`}
        </td>
      </tr>
      ${editing
        ? html`<tr class="label-editor">
            <td colspan="6">
              <label
                >Bedtime
                <input
                  type="datetime-local"
                  id="label-bedtime"
                  .value=${this._labelNight.bedtime}
                  @input=${(ev) => {
                    this._labelNight = { ...this._labelNight, bedtime: ev.target.value };
                  }}
              /></label>
              <label
                >Wake
                <input
                  type="datetime-local"
                  id="label-wake"
                  .value=${this._labelNight.wake}
                  @input=${(ev) => {
                    this._labelNight = { ...this._labelNight, wake: ev.target.value };
                  }}
              /></label>
              <button id="label-save" @click=${this._saveLabel}>Save label</button>
              <button
                class="secondary"
                @click=${() => {
                  this._labelNight = undefined;
                }}
              >
                Cancel
              </button>
            </td>
          </tr>`
        : nothing}`;
  }

  _renderBar(night, threshold) {
    if (!night.windows.length) {
      return html`<span class="id">no model output</span>`;
    }
    const tz = this._sleep.time_zone;
    return html`<svg class="bar" viewBox="0 0 96 10" preserveAspectRatio="none">
      ${night.windows.map(
        ([start, p]) =>
          svg`<rect x=${slotFromNoon(start, tz)} y="0" width="1" height="10"
            fill=${p >= threshold ? "var(--primary-color)" : "var(--secondary-text-color)"}
            fill-opacity=${Math.max(0.08, p)}></rect>`,
      )}
    </svg>`;
  }

  _renderHealth() {
    const { event_stream: events, alarm_sync: alarm, ml, rooms } = this._status;
    const writes = rooms.counters.writes;
    return html`
      <section id="health">
        <h2>Health</h2>
        <div class="grid">
          <div>
            <h3>Event stream</h3>
            <p id="event-stream-state">${events.enabled ? events.state : "disabled"}</p>
            <p>
              ${events.buffered} buffered of ${events.capacity}, ${events.pending} not yet confirmed,
              ${events.resent} resent, ${events.unrecoverable} unrecoverable
            </p>
            ${events.last_error ? html`<p class="error">${events.last_error}</p>` : nothing}
          </div>
          <div>
            <h3>Alarm sync</h3>
            <p id="alarm-sync-state">${alarm.status}</p>
            ${alarm.target ? html`<p>with ${alarm.target} (${alarm.last_seen_state ?? "not seen"})</p>` : nothing}
            ${alarm.last_push_error ? html`<p class="error">${alarm.last_push_error}</p>` : nothing}
          </div>
          <div>
            <h3>Sleep learning</h3>
            <p>${ml.readiness ?? "not run yet"}</p>
            <p>${ml.labeled_nights} labelled nights, ${ml.paired_nights} used for training</p>
          </div>
          <div>
            <h3>Room configurations</h3>
            <p>${writes.ok} acknowledged, ${writes.retry} asked to wait, ${rooms.counters.admission.denied} refused by the mapping</p>
            <p>activity pipeline: ${rooms.pipelines.activity.enabled ? `${rooms.pipelines.activity.watched_entities} sensors watched` : "off"}</p>
          </div>
        </div>
      </section>
    `;
  }

  static styles = css`
    :host {
      display: block;
      background: var(--primary-background-color);
      color: var(--primary-text-color);
      min-height: 100vh;
      font-family: var(--paper-font-body1_-_font-family, Roboto, sans-serif);
    }
    .toolbar {
      display: flex;
      align-items: center;
      gap: 8px;
      height: var(--header-height, 56px);
      padding: 0 16px;
      background: var(--app-header-background-color, var(--primary-color));
      color: var(--app-header-text-color, white);
    }
    .toolbar h1 {
      flex: 1;
      font-size: 20px;
      font-weight: 400;
      margin: 0;
    }
    main {
      padding: 16px;
      display: grid;
      gap: 16px;
      max-width: 1200px;
    }
    section {
      background: var(--card-background-color, white);
      border-radius: var(--ha-card-border-radius, 12px);
      box-shadow: var(--ha-card-box-shadow, 0 1px 3px rgba(0, 0, 0, 0.2));
      padding: 16px;
    }
    h2 {
      margin: 0 0 8px;
      font-size: 18px;
      font-weight: 500;
    }
    h3 {
      margin: 0 0 4px;
      font-size: 15px;
    }
    .hint,
    .id {
      color: var(--secondary-text-color);
      font-size: 12px;
    }
    .scroll {
      overflow-x: auto;
    }
    table {
      border-collapse: collapse;
      width: 100%;
    }
    th,
    td {
      border-bottom: 1px solid var(--divider-color, #ddd);
      padding: 6px 8px;
      text-align: left;
      vertical-align: top;
      font-size: 14px;
    }
    td.allowed {
      cursor: pointer;
      background: color-mix(in srgb, var(--success-color, #4caf50) 12%, transparent);
    }
    td.denied {
      cursor: pointer;
      color: var(--secondary-text-color);
    }
    td.selected {
      outline: 2px solid var(--primary-color);
    }
    .version {
      font-weight: 500;
    }
    .row {
      display: flex;
      flex-wrap: wrap;
      gap: 12px;
      align-items: center;
      margin: 8px 0;
    }
    select,
    input,
    textarea {
      font: inherit;
      color: inherit;
      background: var(--secondary-background-color, #f5f5f5);
      border: 1px solid var(--divider-color, #ccc);
      border-radius: 4px;
      padding: 4px 6px;
    }
    textarea {
      width: 100%;
      box-sizing: border-box;
      font-family: monospace;
    }
    button {
      font: inherit;
      cursor: pointer;
      border: none;
      border-radius: 4px;
      padding: 6px 14px;
      background: var(--primary-color);
      color: var(--text-primary-color, white);
    }
    button.secondary {
      background: transparent;
      color: var(--primary-color);
      border: 1px solid var(--primary-color);
    }
    .toolbar button {
      background: transparent;
      border: 1px solid currentColor;
      color: inherit;
    }
    .error {
      color: var(--error-color, #db4437);
    }
    .ok {
      color: var(--success-color, #43a047);
    }
    .bar {
      width: 240px;
      height: 14px;
      background: var(--secondary-background-color, #eee);
    }
    .grid {
      display: grid;
      grid-template-columns: repeat(auto-fit, minmax(220px, 1fr));
      gap: 12px;
    }
    .grid p {
      margin: 2px 0;
    }
  `;
}

function nextDay(isoDate) {
  const day = new Date(`${isoDate}T12:00:00Z`);
  day.setUTCDate(day.getUTCDate() + 1);
  return day.toISOString().slice(0, 10);
}

// A new build is loaded under a new URL without a page reload; the first definition stays.
if (!customElements.get("roomdb-panel")) {
  customElements.define("roomdb-panel", RoomDbPanel);
}
