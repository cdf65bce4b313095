from userbatch.ui.placeholder import not_available

not_available()
