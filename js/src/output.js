// The Output widget without JupyterLab's output area and rendermime (what html-manager uses, most of its size):
// each stored output shown as the static page shows a cell's (dashboard.py `_output_html`): a widget, HTML, an
// image, else its text; a stream's text; an error's name and message. HTML is inserted, its scripts are not run.
import { JupyterLuminoPanelWidget } from '@jupyter-widgets/base';
import * as output from '@jupyter-widgets/output';
import { Widget } from '@lumino/widgets';
import $ from 'jquery';

export const OUTPUT_WIDGET_VERSION = output.OUTPUT_WIDGET_VERSION;
const WIDGET = 'application/vnd.jupyter.widget-view+json';
const IMAGES = ['image/svg+xml', 'image/png', 'image/jpeg', 'image/gif'];
const TEXTS = ['text/markdown', 'text/latex', 'text/plain'];

export class OutputModel extends output.OutputModel {
  defaults() {
    return { ...super.defaults(), msg_id: '', outputs: [] };
  }
}

const joined = (value) => (Array.isArray(value) ? value.join('') : String(value ?? ''));

function textNode(text) {
  const pre = document.createElement('pre');
  pre.textContent = text;
  return new Widget({ node: pre });
}

export class OutputView extends output.OutputView {
  // A panel, as ipywidgets' boxes have, so that a widget in the output is a lumino child of it.
  _createElement() {
    this.luminoWidget = new JupyterLuminoPanelWidget({ view: this });
    return this.luminoWidget.node;
  }

  _setElement(el) {
    if (this.el || el !== this.luminoWidget.node) {
      throw new Error('Cannot reset the DOM element.');
    }
    this.el = this.luminoWidget.node;
    this.$el = $(this.luminoWidget.node);
  }

  render() {
    super.render();
    this.luminoWidget.addClass('jupyter-widgets');
    this.luminoWidget.addClass('widget-output');
    this.listenTo(this.model, 'change:outputs', this.showOutputs);
    return this.showOutputs();
  }

  async showOutputs() {
    const parts = await Promise.all(this.model.get('outputs').map((o) => this.part(o)));
    this.luminoWidget.widgets.slice().forEach((w) => w.dispose());
    parts.forEach((part) => this.luminoWidget.addWidget(part));
  }

  async part(out) {
    if (out.output_type === 'stream') {
      return textNode(joined(out.text));
    }
    if (out.output_type === 'error') {
      return textNode(`${out.ename}: ${out.evalue}`);
    }
    const data = out.data ?? {};
    if (data[WIDGET]) {
      try {
        const model = await this.model.widget_manager.get_model(data[WIDGET].model_id);
        return (await this.create_child_view(model)).luminoWidget;
      } catch (error) {
        return textNode(`Error displaying widget: ${error}`);
      }
    }
    if (data['text/html'] !== undefined) {
      const div = document.createElement('div');
      div.innerHTML = joined(data['text/html']);
      return new Widget({ node: div });
    }
    const image = IMAGES.find((mime) => data[mime] !== undefined);
    if (image) {
      const img = document.createElement('img');
      const value = joined(data[image]);
      img.src = image === 'image/svg+xml' ? `data:${image};charset=utf-8,${encodeURIComponent(value)}` : `data:${image};base64,${value.trim()}`;
      return new Widget({ node: img });
    }
    const text = TEXTS.find((mime) => data[mime] !== undefined);
    return textNode(text ? joined(data[text]) : '');
  }
}
