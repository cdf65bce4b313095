// The draft's grid in the browser: one page of rows, each bad cell marked on the cell itself
// with its message, edited with the keyboard.
//
// The server is the authority on the cells, the marks and the counts; this grid keeps only
// what it has sent and the server has not yet taken (`pending`), shown over the server's
// cells until an answer says they were taken (`data.ack`). Every action is an event in one
// log, sent whole as the component's state `log` ({id, events}); the server takes the
// events it has not seen by their `seq`, so no edit is lost however quickly they come. New
// data never rebuilds a cell being typed in, nor moves the focus.

// Field keys never start with "#": the columns that are not the file's own.
const TICK = "#tick", ROW = "#row", STATUS = "#status", CHANGES = "#changes";
const MASK = "\u2022\u2022\u2022\u2022\u2022\u2022\u2022\u2022";

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  let grid = parentElement.__userbatchGrid;
  if (!grid) grid = parentElement.__userbatchGrid = new Grid(parentElement);
  grid.send = setStateValue;
  grid.update(data);
}

class Grid {
  constructor(parent) {
    this.id = Math.random().toString(36).slice(2);
    this.seq = 0;
    this.pending = [];
    this.ticked = new Set();
    this.active = null; // {row, col}
    this.anchor = null; // the other corner of a selection
    this.editing = null; // {row, col}
    this.revealed = null; // "row|col" of the one password shown
    this.hovered = null;
    this.data = null;
    this.shown = "";
    this.root = el("div", "ub-grid");
    this.root.innerHTML = `<div class="ub-bar">
        <button data-op="undo"></button><button data-op="redo"></button>
        <button data-op="prev"></button><button data-op="next"></button>
        <span class="ub-where" aria-live="polite"></span></div>
      <div class="ub-scroll"><table role="grid" tabindex="0"><thead></thead><tbody></tbody></table></div>
      <div class="ub-tip" role="tooltip" hidden></div>`;
    parent.appendChild(this.root);
    this.table = this.root.querySelector("table");
    this.scroll = this.root.querySelector(".ub-scroll");
    this.tip = this.root.querySelector(".ub-tip");
    this.editor = el("input", "ub-editor");
    this.editor.hidden = true;
    this.editor.setAttribute("aria-label", "Cell text");
    this.scroll.appendChild(this.editor);
    this.root.querySelector(".ub-bar").addEventListener("click", (e) => {
      const op = e.target.closest("button")?.dataset.op;
      if (op === "undo" || op === "redo") this.event({ op });
      else if (op === "next" || op === "prev") this.problem(op === "prev");
      this.table.focus();
    });
    this.table.addEventListener("keydown", (e) => this.key(e));
    this.table.addEventListener("mousedown", (e) => this.click(e));
    this.table.addEventListener("dblclick", (e) => {
      const at = this.cellAt(e.target);
      if (at) this.edit(at, null);
    });
    this.table.addEventListener("mouseover", (e) => {
      this.hovered = this.cellAt(e.target);
      this.showTip();
    });
    this.table.addEventListener("mouseleave", () => { this.hovered = null; this.showTip(); });
    this.table.addEventListener("focus", () => this.showTip());
    this.table.addEventListener("paste", (e) => this.paste(e));
    this.table.addEventListener("copy", (e) => this.copy(e));
    this.editor.addEventListener("keydown", (e) => this.editorKey(e));
    this.editor.addEventListener("blur", () => this.commit());
    this.tip.addEventListener("mousedown", (e) => e.preventDefault()); // keep the focus
    this.tip.addEventListener("click", (e) => this.tipClick(e));
  }

  // -- data from the server
  update(data) {
    const json = JSON.stringify(data);
    if (json === this.shown) return;
    this.shown = json;
    this.data = data;
    if (data.ack && data.ack.id === this.id) {
      this.pending = this.pending.filter((event) => event.seq > data.ack.seq);
    }
    if (data.ticks !== this.ticksSeen) {
      this.ticksSeen = data.ticks;
      this.ticked.clear();
    }
    const rows = new Map(data.rows.map((row) => [row.row, row]));
    this.rows = rows;
    this.order = data.rows.map((row) => row.row);
    this.cols = [TICK, ROW, STATUS, ...data.columns.map((c) => c.key), ...(data.changes ? [CHANGES] : [])];
    this.columns = new Map(data.columns.map((c) => [c.key, c]));
    if (this.editing && !rows.has(this.editing.row)) this.commit();
    if (this.active && !rows.has(this.active.row)) this.active = null;
    // The cell to focus, once its page is here (a page may come after the ask).
    if (data.focus && data.focus.id !== this.focusSeen && rows.has(data.focus.row)) {
      this.focusSeen = data.focus.id;
      this.anchor = null;
      this.active = { row: data.focus.row, col: data.focus.col };
      this.table.focus({ preventScroll: true });
    }
    if (!this.active && this.order.length) this.active = { row: this.order[0], col: this.cols[3] ?? ROW };
    const labels = data.labels;
    for (const button of this.root.querySelectorAll(".ub-bar button")) {
      button.textContent = labels[button.dataset.op];
      button.title = labels[button.dataset.op + "_key"];
    }
    this.root.querySelector("[data-op=undo]").disabled = !data.undo;
    this.root.querySelector("[data-op=redo]").disabled = !data.redo;
    this.draw();
    this.sendTicks();
  }

  draw() {
    const data = this.data;
    const head = [`<th class="ub-tick" scope="col">${esc(data.labels.delete)}</th>`,
      `<th class="ub-row" scope="col">${esc(data.labels.row)}</th>`,
      `<th scope="col">${esc(data.labels.status)}</th>`,
      ...data.columns.map((c) => `<th scope="col" title="${esc(c.help || "")}">${esc(c.label)}</th>`),
      ...(data.changes ? [`<th scope="col">${esc(data.labels.changes)}</th>`] : [])];
    const headHtml = `<tr>${head.join("")}</tr>`;
    const thead = this.table.tHead;
    if (thead.innerHTML !== headHtml) thead.innerHTML = headHtml;
    const body = this.table.tBodies[0];
    const wanted = this.order.join(",") + "|" + this.cols.join(",");
    if (body.dataset.shape !== wanted) {
      body.dataset.shape = wanted;
      body.innerHTML = this.order.map((row) => `<tr data-row="${row}">${this.cols.map((col) =>
        `<td role="gridcell" data-col="${esc(col)}" class="${col === TICK ? "ub-tick" : col === ROW ? "ub-row" : ""}"></td>`).join("")}</tr>`).join("");
      this.cells = new Map();
      for (const tr of body.rows) {
        const row = Number(tr.dataset.row);
        for (const td of tr.cells) this.cells.set(row + "|" + td.dataset.col, td);
      }
    }
    const overlay = this.overlay();
    for (const row of this.order) {
      const found = this.rows.get(row);
      for (const col of this.cols) this.paint(this.cells.get(row + "|" + col), found, col, overlay);
    }
    this.placeEditor();
    this.mark();
  }

  // The text of cells sent but not yet taken: row|col -> text.
  overlay() {
    const shown = new Map();
    for (const event of this.pending) {
      for (const [row, col, text] of event.cells || []) shown.set(row + "|" + col, text);
    }
    return shown;
  }

  paint(td, row, col, overlay) {
    let text = "", cls = "", problem = null;
    if (col === TICK) {
      text = this.ticked.has(row.row) ? "\u2611" : "\u2610";
    } else if (col === ROW) {
      text = String(row.row);
      problem = row.marks[""] || null;
    } else if (col === STATUS) {
      text = this.data.labels.statuses[row.status];
      cls = "ub-status-" + row.status;
    } else if (col === CHANGES) {
      text = row.changes || "";
    } else {
      const index = this.data.columns.findIndex((c) => c.key === col);
      const key = row.row + "|" + col;
      text = overlay.has(key) ? overlay.get(key) : row.cells[index];
      problem = overlay.has(key) && overlay.get(key) !== row.cells[index] ? null : row.marks[col] || null;
      if (overlay.has(key)) cls += " ub-sending";
      if (this.columns.get(col).secret) {
        td.dataset.secret = "1";
        if (this.revealed !== key && text) text = MASK;
      }
    }
    if (problem) cls += problem.level === "error" ? " ub-error" : " ub-warning";
    if (problem && problem.suggestion != null) cls += " ub-suggested";
    cls = cls.trim();
    if (td.textContent !== text) td.textContent = text;
    if (td.className.replace(/ ?ub-(tick|row|active|selected)/g, "").trim() !== cls) {
      const keep = col === TICK ? "ub-tick" : col === ROW ? "ub-row" : "";
      td.className = [keep, cls].filter(Boolean).join(" ");
    }
    td.setAttribute("aria-invalid", problem && problem.level === "error" ? "true" : "false");
  }

  problemOf(at) {
    const row = this.rows.get(at.row);
    if (!row) return null;
    if (at.col === ROW) return row.marks[""] || null;
    if (!this.columns.has(at.col)) return null;
    const pending = this.overlay().get(at.row + "|" + at.col);
    const index = this.data.columns.findIndex((c) => c.key === at.col);
    if (pending !== undefined && pending !== row.cells[index]) return null;
    return row.marks[at.col] || null;
  }

  // -- focus, selection and the tip
  mark() {
    if (this.revealed && (!this.active || this.revealed !== this.active.row + "|" + this.active.col)) {
      this.revealed = null; // a password shows only while its cell is the active one
      this.draw();
      return;
    }
    for (const td of this.table.querySelectorAll(".ub-active, .ub-selected")) {
      td.classList.remove("ub-active", "ub-selected");
    }
    const where = this.root.querySelector(".ub-where");
    if (!this.active) { where.textContent = ""; this.showTip(); return; }
    for (const key of this.selection()) this.cells.get(key)?.classList.add("ub-selected");
    const td = this.cells.get(this.active.row + "|" + this.active.col);
    if (td) {
      td.classList.add("ub-active");
      const label = this.columns.get(this.active.col)?.label || "";
      where.textContent = `${this.data.labels.row} ${this.active.row}${label ? " \u00b7 " + label : ""}`;
      if (document.activeElement === this.table || this.root.getRootNode().activeElement === this.table) {
        td.scrollIntoView({ block: "nearest", inline: "nearest" });
      }
    }
    this.showTip();
  }

  selection() {
    if (!this.active) return [];
    const a = this.anchor || this.active, b = this.active;
    const rows = [this.order.indexOf(a.row), this.order.indexOf(b.row)].sort((x, y) => x - y);
    const cols = [this.cols.indexOf(a.col), this.cols.indexOf(b.col)].sort((x, y) => x - y);
    const keys = [];
    for (let r = rows[0]; r <= rows[1]; r++) {
      for (let c = cols[0]; c <= cols[1]; c++) keys.push(this.order[r] + "|" + this.cols[c]);
    }
    return keys;
  }

  showTip() {
    const focused = this.root.getRootNode().activeElement;
    const hasFocus = focused === this.table || focused === this.editor;
    const telling = (cell) => cell && (this.problemOf(cell) || this.columns.get(cell.col)?.secret);
    // The cell pointed at, if it has something to say; else the active one.
    const at = telling(this.hovered) ? this.hovered : hasFocus || this.editing ? this.active : null;
    const tip = this.tip;
    const problem = at ? this.problemOf(at) : null;
    const secret = at && this.columns.get(at.col)?.secret;
    const td = at && this.cells?.get(at.row + "|" + at.col);
    if (!td || (!problem && !secret)) { tip.hidden = true; return; }
    const labels = this.data.labels;
    let html = "";
    if (problem) {
      html += problem.messages.map((m) => `<div class="ub-msg ub-${m.level}">${esc(m.text)}</div>`).join("");
      if (problem.suggestion != null) {
        html += `<div class="ub-fix"><button data-fix="one">${esc(labels.apply.replace("{value}", problem.suggestion || labels.blank))}</button>`;
        if (problem.like > 1) html += `<button data-fix="all">${esc(labels.apply_all.replace("{count}", problem.like.toLocaleString()))}</button>`;
        html += `</div>`;
      }
    }
    if (secret) {
      const key = at.row + "|" + at.col;
      html += `<div class="ub-fix"><button data-fix="reveal">${esc(this.revealed === key ? labels.hide : labels.show)}</button></div>`;
    }
    tip.innerHTML = html;
    tip.dataset.row = at.row;
    tip.dataset.col = at.col;
    tip.hidden = false;
    const box = td.getBoundingClientRect(), root = this.root.getBoundingClientRect();
    tip.style.left = Math.max(0, box.left - root.left) + "px";
    tip.style.top = box.bottom - root.top + 2 + "px";
  }

  tipClick(e) {
    const fix = e.target.closest("button")?.dataset.fix;
    if (!fix) return;
    const at = { row: Number(this.tip.dataset.row), col: this.tip.dataset.col };
    this.fix(at, fix);
    this.table.focus();
  }

  fix(at, how) {
    const key = at.row + "|" + at.col;
    if (how === "reveal") {
      this.revealed = this.revealed === key ? null : key;
      this.draw();
      return;
    }
    const problem = this.problemOf(at);
    if (!problem || problem.suggestion == null) return;
    if (how === "one") this.event({ op: "edit", cells: [[at.row, at.col, problem.suggestion]] });
    else this.event({ op: "apply_all", row: at.row, col: at.col, code: problem.code });
  }

  // -- the keyboard and the mouse
  cellAt(target) {
    const td = target.closest && target.closest("td");
    if (!td || !this.table.contains(td)) return null;
    return { row: Number(td.parentElement.dataset.row), col: td.dataset.col };
  }

  click(e) {
    const at = this.cellAt(e.target);
    if (!at) return;
    if (this.editing) this.commit();
    if (e.shiftKey && this.active) {
      this.anchor = this.anchor || this.active;
    } else {
      this.anchor = null;
    }
    this.active = at;
    if (at.col === TICK && !e.shiftKey) this.tick(at.row);
    this.mark();
    this.sendSelection();
  }

  move(dRow, dCol, extend) {
    if (!this.active) return;
    if (extend) this.anchor = this.anchor || this.active;
    else this.anchor = null;
    const r = clamp(this.order.indexOf(this.active.row) + dRow, 0, this.order.length - 1);
    const c = clamp(this.cols.indexOf(this.active.col) + dCol, 0, this.cols.length - 1);
    this.active = { row: this.order[r], col: this.cols[c] };
    this.mark();
    this.sendSelection();
  }

  key(e) {
    if (e.target !== this.table || !this.active) return;
    this.hovered = null; // the keyboard takes over from the pointer
    const ctrl = e.ctrlKey || e.metaKey;
    const k = e.key;
    const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    if (moves[k]) {
      const [dr, dc] = moves[k];
      this.move(ctrl ? dr * this.order.length : dr, ctrl ? dc * this.cols.length : dc, e.shiftKey);
    } else if (k === "Tab") {
      const c = this.cols.indexOf(this.active.col) + (e.shiftKey ? -1 : 1);
      if (c < 0 || c >= this.cols.length) return; // leave the grid
      this.move(0, e.shiftKey ? -1 : 1, false);
    } else if (k === "Home" || k === "End") {
      const end = k === "End" ? 1 : -1;
      this.move(ctrl ? end * this.order.length : 0, end * this.cols.length, e.shiftKey);
    } else if (k === "PageDown" || k === "PageUp") {
      this.move((k === "PageDown" ? 1 : -1) * 10, 0, e.shiftKey);
    } else if (k === "F8") {
      this.problem(e.shiftKey);
    } else if (ctrl && (k === "z" || k === "Z")) {
      this.event({ op: e.shiftKey ? "redo" : "undo" });
    } else if (ctrl && (k === "y" || k === "Y")) {
      this.event({ op: "redo" });
    } else if (e.altKey && (k === "a" || k === "A" || k === "\u00e5")) {
      this.fix(this.active, e.shiftKey ? "all" : "one");
    } else if (e.altKey && (k === "s" || k === "S" || k === "\u00df")) {
      if (this.columns.get(this.active.col)?.secret) this.fix(this.active, "reveal");
    } else if (k === "Enter" || k === "F2") {
      if (this.active.col === TICK) this.tick(this.active.row);
      else this.edit(this.active, null);
    } else if (k === " " && this.active.col === TICK) {
      this.tick(this.active.row);
    } else if (k === "Delete" || k === "Backspace") {
      const cells = this.selection().map((key) => key.split("|")).filter(([, col]) => this.columns.has(col))
        .map(([row, col]) => [Number(row), col, ""]);
      if (cells.length) this.event({ op: "edit", cells });
    } else if (k === "Escape") {
      this.anchor = null;
      this.mark();
    } else if (k.length === 1 && !ctrl && !e.altKey) {
      if (!this.edit(this.active, k)) return;
    } else {
      return;
    }
    e.preventDefault();
  }

  // To the next (or previous) marked cell of the page; past its last, the server's next page.
  problem(back) {
    if (!this.active) return;
    const cells = [];
    for (const row of this.order) {
      for (const col of this.cols) if (this.problemOf({ row, col })) cells.push({ row, col });
    }
    const here = this.order.indexOf(this.active.row) * this.cols.length + this.cols.indexOf(this.active.col);
    const place = (at) => this.order.indexOf(at.row) * this.cols.length + this.cols.indexOf(at.col);
    const found = back ? cells.filter((at) => place(at) < here).pop() : cells.find((at) => place(at) > here);
    if (found) {
      this.anchor = null;
      this.active = found;
      this.mark();
      this.sendSelection();
    } else {
      this.event({ op: back ? "prev" : "next", row: this.active.row, col: this.active.col });
    }
  }

  tick(row) {
    if (this.ticked.has(row)) this.ticked.delete(row);
    else this.ticked.add(row);
    this.draw();
    this.sendTicks();
  }

  // -- typing in a cell
  edit(at, typed) {
    const column = this.columns.get(at.col);
    if (!column) return false;
    this.editing = { row: at.row, col: at.col };
    this.active = { row: at.row, col: at.col };
    this.anchor = null;
    const index = this.data.columns.indexOf(column);
    const shown = this.overlay().get(at.row + "|" + at.col);
    const text = shown !== undefined ? shown : this.rows.get(at.row).cells[index];
    const key = at.row + "|" + at.col;
    this.editor.type = column.secret && this.revealed !== key ? "password" : "text";
    this.editor.value = typed === null ? text : typed;
    this.editor.dataset.was = text;
    this.editor.hidden = false;
    this.placeEditor();
    this.editor.focus({ preventScroll: true });
    if (typed === null) this.editor.select();
    else this.editor.setSelectionRange(this.editor.value.length, this.editor.value.length);
    this.mark();
    return true;
  }

  placeEditor() {
    if (!this.editing) { this.editor.hidden = true; return; }
    const td = this.cells.get(this.editing.row + "|" + this.editing.col);
    if (!td) return;
    Object.assign(this.editor.style, {
      left: td.offsetLeft + "px", top: td.offsetTop + "px",
      width: Math.max(td.offsetWidth, 160) + "px", height: td.offsetHeight + "px",
    });
  }

  editorKey(e) {
    if (e.key === "Enter" || e.key === "Tab") {
      e.preventDefault();
      this.commit();
      this.table.focus({ preventScroll: true });
      if (e.key === "Tab") this.move(0, e.shiftKey ? -1 : 1, false);
      else this.mark();
    } else if (e.key === "Escape") {
      e.preventDefault();
      this.editing = null;
      this.editor.hidden = true;
      this.table.focus({ preventScroll: true });
      this.mark();
    }
    e.stopPropagation();
  }

  commit() {
    const editing = this.editing;
    if (!editing) return;
    this.editing = null;
    this.editor.hidden = true;
    const text = this.editor.value;
    if (text !== this.editor.dataset.was) this.event({ op: "edit", cells: [[editing.row, editing.col, text]] });
    else this.mark();
  }

  // -- the clipboard: a block of cells from a spreadsheet becomes edits from the active cell
  paste(e) {
    if (!this.active) return;
    const text = e.clipboardData.getData("text/plain");
    if (!text) return;
    e.preventDefault();
    const block = parseBlock(text);
    const fields = this.data.columns.map((c) => c.key);
    let start = fields.indexOf(this.active.col);
    if (start < 0) start = 0;
    const first = this.order.indexOf(this.active.row);
    const cells = [];
    block.forEach((line, r) => line.forEach((cell, c) => {
      const row = this.order[first + r], col = fields[start + c];
      if (row !== undefined && col !== undefined) cells.push([row, col, cell]);
    }));
    this.event({ op: "paste", row: this.active.row, col: fields[start], block, cells });
  }

  copy(e) {
    const keys = this.selection();
    if (!keys.length) return;
    e.preventDefault();
    const lines = new Map();
    for (const key of keys) {
      const [row, col] = key.split("|");
      const td = this.cells.get(key);
      const text = this.columns.get(col)?.secret ? "" : td.textContent;
      if (!lines.has(row)) lines.set(row, []);
      lines.get(row).push(/[\t\n"]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text);
    }
    e.clipboardData.setData("text/plain", [...lines.values()].map((l) => l.join("\t")).join("\r\n"));
  }

  // -- to the server
  event(event) {
    event.seq = ++this.seq;
    this.pending.push(event);
    this.draw();
    this.send("log", { id: this.id, events: this.pending });
  }

  sendTicks() {
    const ticked = [...this.ticked].filter((row) => this.rows.has(row)).sort((a, b) => a - b);
    const json = JSON.stringify(ticked);
    if (json === this.ticksSent) return;
    this.ticksSent = json;
    this.send("ticked", ticked);
  }

  sendSelection() {
    const cells = this.selection().map((key) => key.split("|")).filter(([, col]) => this.columns.has(col))
      .map(([row, col]) => [Number(row), col]);
    const json = JSON.stringify(cells.length > 1 ? cells : []);
    if (json === this.selectionSent) return;
    this.selectionSent = json;
    clearTimeout(this.selectionTimer);
    this.selectionTimer = setTimeout(() => this.send("selection", JSON.parse(json)), 300);
  }
}

// Tab-separated lines as a spreadsheet copies them; a quoted cell may hold tabs, line breaks
// and doubled quotes.
function parseBlock(text) {
  const lines = [[]];
  let cell = "", quoted = false, i = 0;
  if (!text.includes("\t") && !text.includes("\n")) return [[text]];
  for (; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { cell += '"'; i++; }
      else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"' && cell === "") quoted = true;
    else if (ch === "\t") { lines[lines.length - 1].push(cell); cell = ""; }
    else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      lines[lines.length - 1].push(cell); cell = "";
      lines.push([]);
    } else cell += ch;
  }
  lines[lines.length - 1].push(cell);
  while (lines.length > 1 && lines[lines.length - 1].length === 1 && lines[lines.length - 1][0] === "") lines.pop();
  return lines;
}

function el(tag, cls) {
  const node = document.createElement(tag);
  node.className = cls;
  return node;
}

function esc(text) {
  return String(text).replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]);
}

function clamp(value, low, high) {
  return Math.max(low, Math.min(high, value));
}
