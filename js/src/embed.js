// The widget manager of the workbench's static dashboard: it renders the ipywidgets state embedded in the page
// (an `application/vnd.jupyter.widget-state+json` script) in place of each `application/vnd.jupyter.widget-view+json`
// script, with no kernel and no network, as `dist/embed.js` of @jupyter-widgets/html-manager does: the models of
// @jupyter-widgets/base and @jupyter-widgets/controls, and the Output widget (./output.js). Any other model (a
// third-party widget, ipywidgets 7 state) loads as ipywidgets' own error widget, which says what is missing; the
// rest of the page renders.
import * as base from '@jupyter-widgets/base';
import { ManagerBase } from '@jupyter-widgets/base-manager';
import * as controls from '@jupyter-widgets/controls';
import { MessageLoop } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import * as output from './output';

const STATE = 'application/vnd.jupyter.widget-state+json';
const VIEW = 'application/vnd.jupyter.widget-view+json';
const MODULES = { '@jupyter-widgets/base': base, '@jupyter-widgets/controls': controls, '@jupyter-widgets/output': output };
const VERSIONS = {
  '@jupyter-widgets/base': base.JUPYTER_WIDGETS_VERSION,
  '@jupyter-widgets/controls': controls.JUPYTER_CONTROLS_VERSION,
  '@jupyter-widgets/output': output.OUTPUT_WIDGET_VERSION,
};

// The style sheets html-manager's embed.js adds: lumino's and the controls' (the build inlines them, minified);
// JupyterLab's theme variables only where the page defines none of its own.
function addStyle(css) {
  const style = document.createElement('style');
  style.textContent = css;
  document.head.appendChild(style);
}

class EmbedManager extends ManagerBase {
  constructor() {
    super();
    this.views = new Set();
    window.addEventListener('resize', () => {
      this.views.forEach((view) => MessageLoop.postMessage(view.luminoWidget, Widget.ResizeMessage.UnknownSize));
    });
  }

  // The class `className` of one of the bundled modules, for state of the same major version (ipywidgets 8).
  async loadClass(className, moduleName, moduleVersion) {
    const module = MODULES[moduleName];
    if (module === undefined) {
      throw new Error(`${moduleName}@${moduleVersion} is not in the static page's widget manager (${Object.keys(MODULES).join(', ')})`);
    }
    if (String(moduleVersion).split('.')[0] !== VERSIONS[moduleName].split('.')[0]) {
      throw new Error(`${moduleName}@${moduleVersion}: the static page's widget manager reads ipywidgets 8 state (${moduleName}@${VERSIONS[moduleName]})`);
    }
    if (module[className] === undefined) {
      throw new Error(`Class ${className} not found in module ${moduleName}@${moduleVersion}`);
    }
    return module[className];
  }

  async display_view(view, element) {
    Widget.attach(view.luminoWidget, element);
    this.views.add(view);
    view.once('remove', () => this.views.delete(view));
  }

  // No kernel: no comms to list, and comms that go nowhere.
  async _get_comm_info() {
    return {};
  }

  async _create_comm() {
    return { on_close: () => {}, on_msg: () => {}, close: () => {} };
  }
}

// Each widget-view script whose model is in the state becomes the view, in a `widget-subarea` div before it.
async function renderState(stateTag) {
  const manager = new EmbedManager();
  const models = await manager.set_state(JSON.parse(stateTag.textContent));
  const tags = document.querySelectorAll(`script[type="${VIEW}"]`);
  await Promise.all(Array.from(tags).map(async (tag) => {
    const model = models.find((m) => m.model_id === JSON.parse(tag.textContent).model_id);
    if (model === undefined || tag.parentElement === null) {
      return;
    }
    const area = document.createElement('div');
    area.className = 'widget-subarea';
    tag.parentElement.insertBefore(area, tag);
    await manager.display_view(await manager.create_view(model), area);
  }));
}

function renderWidgets() {
  addStyle(WIDGETS_CSS); // eslint-disable-line no-undef
  if (getComputedStyle(document.documentElement).getPropertyValue('--jp-layout-color0') === '') {
    addStyle(LAB_VARIABLES_CSS); // eslint-disable-line no-undef
  }
  return Promise.all(Array.from(document.querySelectorAll(`script[type="${STATE}"]`), renderState));
}

if (!window._jupyter_widget_embedder) {
  window._jupyter_widget_embedder = true;
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', renderWidgets);
  } else {
    renderWidgets();
  }
}
