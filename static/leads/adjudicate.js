// Adjudication: "Use this one" copies a reviewer's transcript into the final
// transcript (to keep as is or edit) and remembers which one was picked.

const form = document.getElementById("adjudicate-form");
const text = form.elements.text;
const picked = form.elements.annotation;

for (const button of document.querySelectorAll("[data-pick]")) {
  button.addEventListener("click", () => {
    text.value = button.dataset.text;
    picked.value = button.dataset.pick;
    for (const other of document.querySelectorAll("[data-annotation]")) {
      other.classList.toggle("picked", other.dataset.annotation === button.dataset.pick);
    }
    text.focus();
  });
}
