// The review page's boot module: the state from the template (json_script
// "review-state": the held clips, grades, skip reasons and URLs) into the
// controller (page.js), which then claims, shows and loads its plugins.

import { ReviewPage } from "./page.js";

const state = JSON.parse(document.getElementById("review-state").textContent);
new ReviewPage(state).start();
