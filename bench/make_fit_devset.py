"""Write bench/data/fit_devset.jsonl: over-long lecture and tutorial sentences for bench_fit.py.

Every sentence here was written for this project. ``CORE`` holds sentences as a lecturer or a
tutorial voice-over says them when reading from notes (wordy but not padded); ``SPOKEN`` wraps
some of them in the openers and hedges of unscripted speech, and ``VERBOSE`` holds sentences
with the verbose phrasing that translated and corporate training scripts often have. Slots are
not stored: the benchmark sets each one 20 % below the sentence's own estimate.

Usage: .venv/bin/python bench/make_fit_devset.py
"""

from __future__ import annotations

import json
import random
from pathlib import Path

OUT = Path(__file__).parent / "data" / "fit_devset.jsonl"

CORE: list[tuple[str, str]] = [
    # programming
    ("programming", "A variable is a name that refers to a value, and you can change that value later in the program whenever you need to."),
    ("programming", "When the loop reaches the end of the list, the program leaves the loop and continues with the next statement after it."),
    ("programming", "If you forget to close the file after writing to it, some of the data may never actually be saved to the disk."),
    ("programming", "The function takes two arguments, adds them together and returns the result to the code that called it."),
    ("programming", "Before you can use a library in your project, you have to install it with the package manager and import it at the top of the file."),
    ("programming", "An exception is raised when something goes wrong while the program is running, for example when a file cannot be found."),
    ("programming", "Comments are ignored by the interpreter, but they help other people understand why the code was written the way it was."),
    ("programming", "A dictionary stores pairs of keys and values, so you can look up a value very quickly if you know its key."),
    ("programming", "The debugger lets you stop the program at any line and inspect the values of all the variables at that moment."),
    ("programming", "Each time you push your changes to the shared repository, the tests run automatically on the build server."),
    ("programming", "A list comprehension builds a new list from an existing one in a single line, which is often easier to read than a loop."),
    ("programming", "Recursion means that a function calls itself with a smaller version of the problem until it reaches a case that it can solve directly."),
    ("programming", "The version control system keeps a complete history of every change, so you can always go back to an earlier version of a file."),
    ("programming", "Strings in Python cannot be changed after they are created, so every operation that modifies a string returns a new one."),
    ("programming", "When two threads try to update the same variable at the same time, the result can depend on which one happens to run first."),
    ("programming", "The compiler checks the types of all the expressions before the program runs and reports an error when they do not match."),
    ("programming", "You should write a test for every bug that you fix, so that the same bug cannot come back unnoticed in a later version."),
    ("programming", "An index that is larger than the length of the list causes an error, because there is no element at that position."),
    ("programming", "The web server listens for requests on port eighty and sends each one to the application that is responsible for that address."),
    ("programming", "A class describes what data an object holds and what it can do, and each object that you create from it is called an instance."),
    # data and maths
    ("data", "Before we train the model, we split the data into a training set and a test set, so that we can measure how well it generalises."),
    ("data", "The mean is very sensitive to outliers, which is why the median is often a better summary of a skewed distribution."),
    ("data", "A scatter plot shows each observation as a point, so you can see at a glance whether two variables are related to each other."),
    ("data", "Missing values have to be handled before the analysis, either by removing those rows or by filling them in with a sensible estimate."),
    ("data", "Correlation tells you that two variables move together, but it does not tell you that one of them is the cause of the other."),
    ("data", "If the model performs much better on the training data than on the test data, it has probably memorised the examples instead of learning."),
    ("data", "A confusion matrix counts how many examples of each class were predicted correctly and how many were mistaken for another class."),
    ("data", "We normalise the features so that they all have a similar range, otherwise the largest ones would dominate the distance calculation."),
    ("maths", "To solve the equation, we first move all the terms that contain x to the left side and all the numbers to the right side."),
    ("maths", "The derivative of a function at a point tells us how fast the function is changing at that point and in which direction."),
    ("maths", "A prime number is a whole number greater than one that cannot be divided evenly by any number except one and itself."),
    ("maths", "The area of a circle is equal to pi multiplied by the square of the radius, which is half of the diameter of the circle."),
    ("maths", "When you multiply two negative numbers together, the result is always a positive number, no matter how large the numbers are."),
    ("maths", "A probability of zero means that the event can never happen, and a probability of one means that it is absolutely certain."),
    ("maths", "The angles inside any triangle always add up to one hundred and eighty degrees, whatever the shape or size of the triangle."),
    ("maths", "To find the percentage, divide the part by the whole and then multiply the result by one hundred."),
    # science
    ("science", "Plants use the energy of sunlight to turn water and carbon dioxide into sugar, and they release oxygen into the air as a by-product."),
    ("science", "The heart pumps blood through the arteries to every part of the body, and the veins carry it back to the heart again."),
    ("science", "Water boils at one hundred degrees Celsius at sea level, but at a lower temperature high up in the mountains where the pressure is lower."),
    ("science", "Every element in the periodic table is defined by the number of protons in the nucleus of each of its atoms."),
    ("science", "When you heat a metal rod at one end, the heat slowly travels along the rod until the other end becomes warm as well."),
    ("science", "Vaccines train the immune system to recognise a virus, so that the body can fight it off quickly if it is ever exposed to it."),
    ("science", "The moon does not produce its own light, and what we see at night is sunlight that is reflected from its surface."),
    ("science", "Sound travels much faster through water than through air, which is why whales can communicate over very long distances."),
    ("science", "An acid has a pH value below seven, a base has a value above seven, and pure water sits exactly in the middle at seven."),
    ("science", "The speed of a chemical reaction usually increases with temperature, because the molecules collide more often and with more energy."),
    ("science", "Earthquakes happen when the plates of the earth's crust suddenly slip past each other after the pressure between them has built up for years."),
    ("science", "Cells divide so that the body can grow and repair itself, and each new cell receives a complete copy of the genetic material."),
    # history, economics, language
    ("history", "The printing press made books much cheaper to produce, and within a few decades ideas could spread across the whole of Europe."),
    ("history", "The city was founded on the river because boats were the fastest and cheapest way to move goods from one place to another."),
    ("history", "After the war, many countries agreed to work together in new international organisations in order to prevent another conflict."),
    ("history", "The first railways were built to carry coal from the mines to the ports, and passenger travel only came a little later."),
    ("economics", "When the price of a product goes up, people usually buy less of it, unless there is no other product that they can use instead."),
    ("economics", "Inflation means that the same amount of money buys fewer goods over time, so the value of savings slowly goes down."),
    ("economics", "A budget helps you to see where your money goes each month and to decide in advance how much of it you want to save."),
    ("economics", "Interest is the price that you pay for borrowing money, and it is usually expressed as a percentage of the amount per year."),
    ("language", "In English, the adjective usually comes before the noun, whereas in French and Spanish it usually comes after the noun."),
    ("language", "The best way to learn new vocabulary is to use the words in your own sentences rather than just reading long lists of them."),
    ("language", "Regular verbs form the past tense by adding the ending ed, but many of the most common verbs are irregular and have to be learned."),
    # software tutorials
    ("tutorial", "To create a new project, click the button in the top left corner of the window and choose a template from the list that appears."),
    ("tutorial", "Once the installation has finished, restart your computer so that all of the changes can take effect properly."),
    ("tutorial", "You can change the language of the interface at any time in the settings menu, under the section that is called general."),
    ("tutorial", "If you want to share the document with your colleagues, click the share button and enter the email addresses of the people you want to invite."),
    ("tutorial", "The spreadsheet recalculates every formula automatically whenever you change one of the values that the formula depends on."),
    ("tutorial", "To select several files at once, hold down the control key while you click on each of the files that you want to select."),
    ("tutorial", "Make sure that you save a backup copy of your files before you update the software to the latest version."),
    ("tutorial", "The search box at the top of the page lets you find any setting by typing a part of its name instead of looking through every menu."),
    ("tutorial", "When you export the video, choose a lower resolution if you want the file to be smaller and faster to upload."),
    ("tutorial", "You can undo your last change by pressing control and z, and you can repeat that as many times as you need to."),
    ("tutorial", "Drag the image from the folder onto the page, and then use the handles at the corners to change its size."),
    ("tutorial", "The new password has to be at least twelve characters long and must contain at least one number and one special character."),
    ("tutorial", "If the printer does not appear in the list, check that it is switched on and connected to the same network as your computer."),
    ("tutorial", "The dashboard shows the most important figures for the current month, and you can click on any chart to see the details behind it."),
    ("tutorial", "To add a new user to the team, open the administration page, click on users and then fill in the form with their details."),
    ("tutorial", "Your changes are saved automatically every few seconds, so you do not have to worry about losing your work if the browser crashes."),
    # workplace training
    ("training", "Always wear the safety glasses and the gloves when you work with the machine, even if the job will only take a minute or two."),
    ("training", "If you notice that a colleague is not feeling well, tell your supervisor immediately and do not leave the person alone."),
    ("training", "Every customer complaint must be recorded in the system within twenty four hours, together with the steps that were taken to solve it."),
    ("training", "Before you lift a heavy box, bend your knees and keep your back straight, so that your legs do most of the work."),
    ("training", "Personal data about our customers may only be used for the purpose for which it was collected and must never be shared outside the company."),
    ("training", "In case of a fire alarm, leave the building by the nearest exit, do not use the lifts and go directly to the assembly point."),
    ("training", "When you answer the phone, say the name of the company and your own name, and then ask the caller how you can help them."),
    ("training", "All invoices above five thousand euros have to be approved by the head of the department before they can be paid."),
    ("training", "Wash your hands thoroughly with soap and warm water for at least twenty seconds before you start to prepare any food."),
    ("training", "If you receive an email that asks for your password, do not reply to it and report it to the IT department straight away."),
    # cooking, photography, music, fitness
    ("cooking", "Let the dough rest in the fridge for at least half an hour, because that makes it much easier to roll out without tearing."),
    ("cooking", "Add the salt to the water only once it is boiling, and then put the pasta in and stir it so that it does not stick together."),
    ("cooking", "Cut all the vegetables into pieces of about the same size, so that they cook evenly and are all ready at the same time."),
    ("photography", "A wide aperture lets more light into the camera and makes the background blurry, which is useful for portraits."),
    ("photography", "If your photos are blurry, try using a faster shutter speed or holding the camera more steadily against your body."),
    ("photography", "The rule of thirds suggests placing the main subject of the picture along one of the lines that divide the frame into three parts."),
    ("music", "Before you start playing, tune every string of the guitar, because even one string that is out of tune will make every chord sound wrong."),
    ("music", "A major scale always follows the same pattern of whole steps and half steps, whichever note you decide to start it on."),
    ("fitness", "Warm up for five to ten minutes before the exercise, so that your muscles are ready and the risk of an injury is lower."),
    # more lecture material
    ("programming", "A function that does not return anything explicitly still returns a special value called None when it reaches its last line."),
    ("programming", "Indentation matters in Python, because it tells the interpreter which statements belong to the body of a loop or a function."),
    ("programming", "The stack trace shows the chain of function calls that led to the error, with the most recent call listed at the very bottom."),
    ("programming", "A database index makes searches much faster, but it also makes every insert a little slower because the index has to be updated too."),
    ("programming", "When you name your variables, choose names that describe what the value means rather than single letters that nobody will remember later."),
    ("data", "A histogram groups the values into ranges and shows how many values fall into each range, which gives you the shape of the data."),
    ("data", "The larger the sample that you collect, the closer its average will usually be to the true average of the whole population."),
    ("maths", "A fraction can be simplified by dividing both the numerator and the denominator by the largest number that divides both of them."),
    ("maths", "The slope of a straight line tells you how much the value of y changes every time the value of x increases by one."),
    ("science", "Friction is a force that acts against the movement of an object and turns some of its energy of motion into heat."),
    ("science", "The lungs take oxygen from the air that we breathe in and pass it into the blood, which then carries it around the body."),
    ("science", "Magnets have a north pole and a south pole, and two poles of the same kind push each other away while opposite poles attract."),
    ("history", "Writing was first used to keep records of trade and taxes, long before people started to use it to tell stories or write down laws."),
    ("economics", "A company makes a profit when the money that it earns from its sales is greater than all of the costs of running the business."),
    ("tutorial", "To insert a table, open the insert menu, choose table and then select the number of rows and columns that you need."),
    ("tutorial", "If the application stops responding, wait a few seconds before you close it, because it may still be saving your changes in the background."),
    ("tutorial", "You can connect your calendar to the app, so that your meetings appear automatically next to the tasks that you have planned for the day."),
    ("training", "Never leave your laptop unlocked when you walk away from your desk, even if you only intend to be gone for a couple of minutes."),
    ("training", "Report every near miss to the safety officer, because the information helps us to prevent real accidents from happening in the future."),
    ("cooking", "Taste the sauce before you serve it and add a little more salt or lemon juice if it needs it, a small amount at a time."),
    ("fitness", "Drink water regularly during the workout, and do not wait until you feel thirsty, because by then your body is already short of water."),
]

SPOKEN_OPENERS = [
    "So basically, {s}",
    "Okay, so what I want you to notice here is that {s}",
    "Now, it is really important to remember that {s}",
    "And, you know, {s}",
    "So at this point in time, {s}",
    "Alright, so the thing to keep in mind here is that {s}",
    "I think it is worth pointing out that {s}",
    "So, as you can see, {s}",
    "Right, so, basically, {s}",
    "Just to be clear, {s}",
]

VERBOSE: list[tuple[str, str]] = [
    ("training", "In order to ensure that all employees are able to access the system, each and every user is required to change their password on a regular basis."),
    ("training", "Due to the fact that the vast majority of accidents happen in the warehouse, it is essential that you wear your safety shoes at all times."),
    ("training", "In the event that you are not in a position to attend the meeting, please make sure that you inform your manager prior to the start of the meeting."),
    ("training", "At this point in time, a large number of our customers are making use of the mobile application on a daily basis."),
    ("training", "With regard to the new policy, it should be noted that all requests for holidays have to be submitted at least two weeks in advance."),
    ("training", "For the purpose of this course, we are going to be looking at the different ways in which you can reduce the amount of waste in the office."),
    ("tutorial", "In order to be able to use all of the features of the program, you will need to create an account and log in with your email address."),
    ("tutorial", "It is important to note that the changes that you make in the settings will not take effect until such time as you restart the application."),
    ("tutorial", "In spite of the fact that the file is very large, the program is able to open it in a matter of seconds."),
    ("tutorial", "What we are going to do now is take a look at how you can export your data in order to make use of it in another program."),
    ("tutorial", "Whether or not you decide to enable notifications, you will still be able to see all of your messages in the inbox."),
    ("tutorial", "Prior to installing the update, it is a good idea to make sure that you have a backup copy of each and every one of your documents."),
    ("programming", "In order to avoid errors, it is necessary to check whether or not the variable has a value prior to using it in the calculation."),
    ("programming", "Due to the fact that strings are immutable, each and every change that you make creates a new string in memory."),
    ("programming", "The reason why the program is slow is because it is reading the whole file into memory at the same time instead of line by line."),
    ("programming", "At the present time, the vast majority of web applications are making use of a framework in order to handle the requests."),
    ("data", "In order to get a reliable estimate, we are going to need a large number of observations, and the more observations we have, the better."),
    ("data", "It should be noted that a high correlation between the two variables does not necessarily mean that one of them is causing the other."),
    ("science", "Due to the fact that light travels faster than sound, you will always see the lightning before you are able to hear the thunder."),
    ("science", "In the event that the temperature drops below zero degrees, the water in the pipes will freeze and is able to damage them."),
    ("economics", "Due to the fact that prices are rising, a great deal of families are finding it harder to save money at the end of each month."),
    ("history", "At that point in time, the vast majority of people were living in small villages and were working on the land on a daily basis."),
]


def main() -> None:
    rng = random.Random(6)
    records: list[dict[str, str]] = []
    for i, (domain, text) in enumerate(CORE):
        records.append({"id": f"core-{i:03d}", "domain": domain, "style": "written", "text": text})
    # Spoken variants of some of the same sentences: openers and hedges that unscripted speech adds.
    picks = rng.sample(range(len(CORE)), 70)
    for n, i in enumerate(picks):
        domain, text = CORE[i]
        opener = SPOKEN_OPENERS[n % len(SPOKEN_OPENERS)]
        body = text[0].lower() + text[1:] if not text.startswith(("I ", "IT", "English", "French", "Python", "Europe")) else text
        records.append({"id": f"spoken-{n:03d}", "domain": domain, "style": "spoken",
                        "text": opener.format(s=body)})
    for i, (domain, text) in enumerate(VERBOSE):
        records.append({"id": f"verbose-{i:03d}", "domain": domain, "style": "verbose", "text": text})
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"wrote {len(records)} sentences to {OUT}")


if __name__ == "__main__":
    main()
