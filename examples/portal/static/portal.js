// The reference portal's few behaviours: a clickable tooth chart, the wizard's steps,
// buttons that ask twice, rows added to lists. Every page works (less nicely) without it.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // -- the tooth chart: a click on a tooth shows its state list --------------------------
  for (const chart of document.querySelectorAll("[data-chart]")) {
    const svg = chart.querySelector("svg");
    if (svg) svg.setAttribute("role", "group");
    for (const tooth of chart.querySelectorAll("g.tooth")) {
      const name = tooth.dataset.label;
      tooth.setAttribute("role", "button");
      tooth.setAttribute("tabindex", "0");
      tooth.setAttribute("aria-label", `${chart.dataset.toothWord || "Tooth"} ${name}`);
      const open = () => {
        const row = chart.querySelector(`.tooth-state[data-label="${name}"]`);
        if (!row) return;
        row.hidden = false;
        for (const other of chart.querySelectorAll(".tooth-state.picked")) other.classList.remove("picked");
        row.classList.add("picked");
        row.querySelector("select").focus();
      };
      tooth.addEventListener("click", open);
      tooth.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); open(); } });
    }
    for (const select of chart.querySelectorAll(".tooth-state select")) {
      select.addEventListener("change", () => {
        const label = select.closest(".tooth-state").dataset.label;
        const tooth = chart.querySelector(`g.tooth[data-label="${label}"]`);
        if (tooth) tooth.dataset.picked = select.value === "none" ? "" : select.value;
      });
    }
  }

  // -- the wizard: one step at a time, the first step with an error first ----------------
  const wizard = document.querySelector("form.wizard");
  if (wizard) {
    const steps = [...wizard.querySelectorAll("section.step")];
    const tabs = [...wizard.querySelectorAll("[role=tab]")];
    let current = 0;
    const show = (index) => {
      current = Math.max(0, Math.min(steps.length - 1, index));
      steps.forEach((s, i) => { s.hidden = i !== current; });
      tabs.forEach((t, i) => { t.setAttribute("aria-selected", String(i === current)); });
      wizard.querySelector("[data-prev]").disabled = current === 0;
      wizard.querySelector("[data-next]").hidden = current === steps.length - 1;
      window.scrollTo({ top: 0 });
    };
    steps.forEach((s, i) => { if (s.querySelector(".error")) tabs[i].classList.add("has-errors"); });
    tabs.forEach((t, i) => t.addEventListener("click", () => show(i)));
    wizard.querySelector("[data-prev]").addEventListener("click", () => show(current - 1));
    wizard.querySelector("[data-next]").addEventListener("click", () => show(current + 1));
    for (const link of document.querySelectorAll("#problems a[href^='#']")) {
      link.addEventListener("click", () => {
        const target = document.getElementById(link.getAttribute("href").slice(1));
        const step = target && target.closest("section.step");
        if (step) show(steps.indexOf(step));
      });
    }
    const kindInputs = wizard.querySelectorAll("input[name=kind]");
    const byKind = () => {
      const kind = (wizard.querySelector("input[name=kind]:checked") || {}).value || "clear_aligners";
      for (const part of wizard.querySelectorAll("[data-when-kind]")) {
        const on = part.dataset.whenKind.split(" ").includes(kind);
        part.hidden = !on;
        for (const input of part.querySelectorAll("input, select, textarea")) input.disabled = !on;
      }
    };
    kindInputs.forEach((i) => i.addEventListener("change", byKind));
    byKind();
    const firstError = steps.findIndex((s) => s.querySelector(".error"));
    show(firstError >= 0 ? firstError : 0);
  }

  // -- the user switcher of the stub login: picking a user logs them in ------------------
  for (const select of document.querySelectorAll("[data-submit-on-change]")) {
    select.addEventListener("change", () => select.form.submit());
  }

  // -- buttons that ask twice: a dialog with the real submit button ----------------------
  for (const ask of document.querySelectorAll("[data-ask]")) {
    ask.addEventListener("click", () => document.getElementById(ask.dataset.ask).showModal());
  }
  for (const close of document.querySelectorAll("dialog [data-close]")) {
    close.addEventListener("click", () => close.closest("dialog").close());
  }

  // -- lists: "add a row" copies the last row with the next index, emptied ---------------
  document.addEventListener("click", (event) => {
    const add = event.target.closest("[data-add-row]");
    if (!add) return;
    const list = add.closest("[data-list]");
    const name = list.dataset.list;
    const items = [...list.querySelectorAll(":scope > .list-item")];
    const last = items[items.length - 1];
    const from = `${name}[${items.length - 1}]`;
    const to = `${name}[${items.length}]`;
    const copy = last.cloneNode(true);
    const swap = (text) => text.split(from).join(to);
    const idFrom = from.replace(/[^A-Za-z0-9_-]+/g, "-");
    const idTo = to.replace(/[^A-Za-z0-9_-]+/g, "-");
    for (const el of [copy, ...copy.querySelectorAll("*")]) {
      for (const attr of ["name", "data-item", "data-list", "data-add-row"]) {
        if (el.hasAttribute(attr)) el.setAttribute(attr, swap(el.getAttribute(attr)));
      }
      for (const attr of ["id", "for", "aria-describedby"]) {
        if (el.hasAttribute(attr)) el.setAttribute(attr, el.getAttribute(attr).split(idFrom).join(idTo));
      }
      if (el.matches("input[type=checkbox], input[type=radio]")) el.checked = false;
      else if (el.matches("input, textarea")) el.value = "";
      else if (el.matches("select")) el.selectedIndex = 0;
      if (el.matches(".error")) el.remove();
    }
    copy.setAttribute("aria-label", `${copy.dataset.label} ${items.length + 1}`);
    last.after(copy);
  });
});
