// One interactive flame graph (d3-flame-graph) with its toolbar: search with highlight, zoom by click (kept across
// redraws of new data), reset, and a tooltip and details line on hover. The root is on top, as SkyWalking's UI draws
// it; children are ordered by name so that two graphs of the same program line up.
import { select } from "d3-selection";
import flamegraph from "d3-flame-graph"; // its stylesheet comes with it, into app.css
import { tooltip } from "d3-flame-graph";

/** The path of names from the root to a d3 hierarchy node. */
function pathOf(d) {
  const names = [];
  for (let n = d; n; n = n.parent) names.unshift(n.data.name);
  return names;
}

/** The node at that path under root, or null. */
function findPath(root, names) {
  let n = root;
  if (!names.length || n.data.name !== names[0]) return null;
  for (const name of names.slice(1)) {
    n = (n.children || []).find((c) => c.data.name === name);
    if (!n) return null;
  }
  return n;
}

export class FlameView {
  /**
   * chart: the element to draw in; toolbar: the one holding .search, .clear, .reset and .search-result; details: the
   * line that shows the hovered frame. color(d, original) and label(d) describe a frame (d: a d3 hierarchy node,
   * d.data the node of tree.js, d.value its width's count); onDraw(svg) runs after each drawing.
   */
  constructor({ chart, toolbar, details, color, label, onDraw = () => {} }) {
    this.el = chart;
    this.onDraw = onDraw;
    this.zoomed = null; // the path of the zoomed frame
    this.term = "";
    this.tip = tooltip.defaultFlamegraphTooltip().text(label);
    this.chart = flamegraph()
      .cellHeight(18)
      .transitionDuration(250)
      .minFrameSize(1)
      .inverted(true)
      .sort(true)
      .selfValue(false)
      .tooltip(this.tip)
      .setLabelHandler(label)
      .setColorMapper(color)
      .setDetailsElement(details)
      .setSearchMatch((d, term) => Boolean(term) && d.data.name.toLowerCase().includes(term.toLowerCase()))
      .onClick((d) => {
        this.zoomed = d.parent ? pathOf(d) : null;
      });
    const result = toolbar.querySelector(".search-result");
    this.result = result;
    this.chart.setSearchHandler((found, sum, total) => {
      result.textContent = this.term ? `${found.length} frame(s) match "${this.term}": ${sum} of ${total} (${
        total ? ((100 * sum) / total).toFixed(1) : "0"}%)` : "";
    });
    const search = toolbar.querySelector(".search");
    search.addEventListener("input", () => this.search(search.value.trim()));
    toolbar.querySelector(".clear").addEventListener("click", () => {
      search.value = "";
      this.search("");
    });
    toolbar.querySelector(".reset").addEventListener("click", () => this.resetZoom());
    this.drawn = false;
    window.addEventListener("resize", () => {
      if (this.drawn && this.el.clientWidth && this.el.clientWidth !== this.chart.width()) {
        this.chart.width(this.el.clientWidth);
        this.chart.update();
      }
    });
  }

  /**
   * Draws a tree of tree.js, sized by value(node) (counts inclusive of children); the zoom and the search stay where
   * they were.
   */
  draw(root, value) {
    // the library asks for values of its data nodes and of its hierarchy nodes alike
    this.chart.getValue((n) => value(n.data || n)).width(Math.max(this.el.clientWidth, 300));
    let depth = 0;
    const walk = (n, level) => {
      if (!value(n)) return;
      depth = Math.max(depth, level);
      for (const c of n.children) walk(c, level + 1);
    };
    walk(root, 1);
    this.chart.height((depth + 1) * this.chart.cellHeight());
    if (!this.drawn) {
      select(this.el).datum(root).call(this.chart);
      this.drawn = true;
    } else {
      this.chart.update(root);
    }
    const svg = this.el.querySelector("svg");
    svg.setAttribute("height", String(this.chart.height())); // the library sets it on the first drawing only
    if (this.zoomed) {
      const node = findPath(select(this.el).datum(), this.zoomed);
      if (node) this.chart.zoomTo(node);
      else this.zoomed = null;
    }
    if (this.term) this.chart.search(this.term);
    this.onDraw(svg);
  }

  /** Nothing drawn (another task, or no samples yet); the zoom is forgotten, the search term kept. */
  clear() {
    this.zoomed = null;
    if (this.drawn) this.chart.destroy();
    this.drawn = false;
  }

  search(term) {
    this.term = term;
    if (!this.drawn) return;
    if (term) {
      this.chart.search(term);
    } else {
      this.chart.clear();
      this.result.textContent = "";
    }
  }

  resetZoom() {
    this.zoomed = null;
    if (this.drawn) this.chart.resetZoom();
  }
}
